import Fastify from 'fastify';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, parseTrackingUrl } from '../../../api/tracking/tracking-fast-path.js';
import { MAX_TOKEN_CHARS } from '../../../producers/tracking/tokens.js';

describe('parseTrackingUrl: what the fast path takes, the rest is fastify’s', () => {
  it.each([
    ['/t/o/k1.abc_DEF-09', { kind: 'o', token: 'k1.abc_DEF-09' }],
    ['/t/c/k1.abc', { kind: 'c', token: 'k1.abc' }],
    ['/t/a/k1.abc?utm=x&y=2', { kind: 'a', token: 'k1.abc' }],
    ['/t/o/k1.a.b', { kind: 'o', token: 'k1.a.b' }],
  ])('%s is a tracking request', (url, expected) => {
    expect(parseTrackingUrl(url)).toEqual(expected);
  });

  it.each(['/t/o/', '/t/o/?x', '/t/x/k1.abc', '/t/o', '/t/oo/k1.abc', '/t/o/k1/abc', '/t/o/k1%2Eabc', '/t/o/k1 abc', '//t/o/k1.abc', '/healthz', '/T/o/k1.abc', '/t/o/k1.abc#x'])(
    '%s is handed to fastify',
    (url) => {
      expect(parseTrackingUrl(url)).toBeNull();
    },
  );

  it('hands a token longer than fastify’s maxParamLength to fastify (which answers 414)', () => {
    expect(parseTrackingUrl(`/t/o/k1.${'a'.repeat(MAX_TOKEN_CHARS - 3)}`)).not.toBeNull();
    expect(parseTrackingUrl(`/t/o/k1.${'a'.repeat(MAX_TOKEN_CHARS - 2)}`)).toBeNull();
  });
});

describe('clientIp equals fastify’s request.ip', () => {
  const cases: Array<{ trustProxy: boolean; forwarded?: string }> = [
    { trustProxy: false },
    { trustProxy: false, forwarded: '203.0.113.9' },
    { trustProxy: true },
    { trustProxy: true, forwarded: '203.0.113.9' },
    { trustProxy: true, forwarded: '203.0.113.9, 10.0.0.1' },
    { trustProxy: true, forwarded: ' 2001:db8::1 ,10.0.0.1,10.0.0.2' },
    { trustProxy: true, forwarded: ', 203.0.113.9' },
    { trustProxy: true, forwarded: ' , ,203.0.113.9, 10.0.0.1' },
  ];
  it.each(cases)('trustProxy $trustProxy, X-Forwarded-For $forwarded', async ({ trustProxy, forwarded }) => {
    const app = Fastify({ trustProxy });
    let seen: IncomingMessage | undefined;
    app.get('/ip', async (request) => {
      seen = request.raw;
      return { ip: request.ip };
    });
    const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
    const answer = (await app.inject({ method: 'GET', url: '/ip', headers, remoteAddress: '192.0.2.7' })).json<{ ip: string }>();
    expect(clientIp(seen!, trustProxy)).toBe(answer.ip);
    await app.close();
  });
});
