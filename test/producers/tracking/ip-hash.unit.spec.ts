import { describe, expect, it } from 'vitest';
import { anonymiseIp } from '../../../producers/tracking/ip-hash.js';
import { redirectLocation } from '../../../producers/tracking/redirect-target.js';

describe('anonymiseIp', () => {
  it('keeps the /24 of IPv4, also when mapped into IPv6', () => {
    expect(anonymiseIp('203.0.113.77')).toBe('203.0.113.0');
    expect(anonymiseIp('::ffff:198.51.100.9')).toBe('198.51.100.0');
  });
  it('keeps the /48 of IPv6', () => {
    expect(anonymiseIp('2001:db8:abcd:12:1:2:3:4')).toBe('2001:db8:abcd::');
    expect(anonymiseIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(anonymiseIp('::1')).toBe('0:0:0::');
  });
  it('never returns something that is not an address network', () => {
    expect(anonymiseIp('not-an-ip')).toBeNull();
    expect(anonymiseIp(undefined)).toBeNull();
  });
});

describe('redirectLocation', () => {
  it('answers exactly the signed URL', () => {
    expect(redirectLocation('https://example.com')).toBe('https://example.com');
    expect(redirectLocation('https://example.com/a?b=c&d=%20#x')).toBe('https://example.com/a?b=c&d=%20#x');
  });
  it('percent-encodes what a header cannot carry', () => {
    expect(redirectLocation('https://example.com/é')).toBe('https://example.com/%C3%A9');
  });
  it('refuses anything but http(s)', () => {
    expect(redirectLocation('javascript:alert(1)')).toBeNull();
    expect(redirectLocation('//evil.example')).toBeNull();
    expect(redirectLocation('data:text/html,hi')).toBeNull();
  });
});
