import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyDigest, principalsByDigest, signSession, verifySession } from '../../../api/dashboard/session.js';

const secret = 'test-session-secret';
const now = Date.UTC(2026, 10, 26, 9);

describe('dashboard sessions', () => {
  const token = signSession({ keyDigest: keyDigest(secret, 'key-a'), expiresAt: now + 60_000 }, secret);

  it('round-trips a session and never holds the key', () => {
    expect(verifySession(token, secret, now)).toEqual({ keyDigest: keyDigest(secret, 'key-a'), expiresAt: now + 60_000 });
    expect(Buffer.from(token.split('.')[0]!, 'base64url').toString()).not.toContain('key-a');
  });

  it('refuses an expired, tampered, re-signed or malformed cookie', () => {
    expect(verifySession(token, secret, now + 60_000)).toBeNull();
    expect(verifySession(token, 'another-secret', now)).toBeNull();
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ k: keyDigest(secret, 'dev-admin-key'), e: now + 60_000 })).toString('base64url');
    expect(verifySession(`${forged}.${mac}`, secret, now)).toBeNull();
    expect(verifySession(`${payload}.${mac!.slice(0, -2)}`, secret, now)).toBeNull();
    for (const bad of [undefined, '', '.', 'abc', `${payload}.`]) expect(verifySession(bad, secret, now)).toBeNull();
    const notJson = Buffer.from('nope').toString('base64url');
    expect(verifySession(signSession({ keyDigest: 'x', expiresAt: now + 1 }, secret).replace(/^[^.]+/, notJson), secret, now)).toBeNull();
  });

  it('maps a key digest to the principal the key is today', () => {
    const lookup = principalsByDigest({ adminKey: 'adm', apiKeys: [['org-a', 'ka'], ['org-b', 'kb'], ['org-c', 'ka']], dashboardSessionSecret: secret });
    expect(lookup(keyDigest(secret, 'adm'))).toEqual({ admin: true, orgIds: new Set() });
    expect(lookup(keyDigest(secret, 'ka'))).toEqual({ admin: false, orgIds: new Set(['org-a', 'org-c']) });
    expect(lookup(keyDigest(secret, 'removed'))).toBeNull();
    // keyed by the secret: the bare SHA-256 of a key, or its HMAC under another secret, is nobody
    expect(lookup(createHash('sha256').update('adm').digest('hex'))).toBeNull();
    expect(lookup(keyDigest('another-secret', 'adm'))).toBeNull();
  });
});
