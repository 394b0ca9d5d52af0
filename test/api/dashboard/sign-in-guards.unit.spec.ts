import { describe, expect, it } from 'vitest';
import { AttemptLimiter, maskIp, sameSiteForm } from '../../../api/dashboard/sign-in-guards.js';

const PUBLIC = 'https://engagement.example.com';

describe('the same-site check on dashboard forms', () => {
  it('trusts Sec-Fetch-Site when the browser sends it', () => {
    expect(sameSiteForm({ 'sec-fetch-site': 'same-origin' }, PUBLIC)).toBe(true);
    for (const site of ['cross-site', 'same-site', 'none']) {
      expect(sameSiteForm({ 'sec-fetch-site': site, origin: PUBLIC, host: 'engagement.example.com' }, PUBLIC), site).toBe(false);
    }
  });

  it('without it, wants Origin to be the public origin or the Host the request was sent to', () => {
    expect(sameSiteForm({ origin: PUBLIC, host: '10.0.0.5:8080' }, PUBLIC)).toBe(true); // behind a proxy that rewrites Host
    expect(sameSiteForm({ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' }, PUBLIC)).toBe(true);
    expect(sameSiteForm({ origin: 'https://evil.example', host: 'engagement.example.com' }, PUBLIC)).toBe(false);
    expect(sameSiteForm({ origin: 'http://engagement.example.com', host: '10.0.0.5' }, PUBLIC)).toBe(false); // another scheme is another origin
    expect(sameSiteForm({ origin: 'null', host: 'engagement.example.com' }, PUBLIC)).toBe(false);
  });

  it('refuses a post that says nothing about where it comes from', () => {
    expect(sameSiteForm({ host: 'engagement.example.com' }, PUBLIC)).toBe(false);
    expect(sameSiteForm({}, PUBLIC)).toBe(false);
  });
});

describe('the sign-in attempt limit', () => {
  it('allows a burst, then one attempt per refill period, per client', () => {
    let clock = 0;
    const limiter = new AttemptLimiter(3, 1_000, () => clock);
    for (let i = 0; i < 3; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(limiter.take('b').allowed).toBe(true);
    clock += 600;
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 400 });
    clock += 400;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    clock += 10_000;
    for (let i = 0; i < 3; i++) expect(limiter.take('a').allowed).toBe(true);
  });

  it('keeps a bounded number of clients', () => {
    const limiter = new AttemptLimiter(1, 1_000, () => 0, 100);
    for (let i = 0; i < 1_000; i++) limiter.take(`c${i}`);
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(100);
  });
});

describe('IPs in logs', () => {
  it('keep only the network part', () => {
    expect(maskIp('203.0.113.77')).toBe('203.0.113.0/24');
    expect(maskIp('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(maskIp('2001:db8:abcd:12:1:2:3:4')).toBe('2001:db8:abcd::/48');
    expect(maskIp('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(maskIp('garbage')).toBe('unknown');
  });
});
