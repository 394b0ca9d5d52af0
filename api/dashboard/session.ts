/**
 * Dashboard sessions: a cookie `base64url(json).base64url(hmac)` signed with
 * DASHBOARD_SESSION_SECRET, holding HMAC-SHA256(DASHBOARD_SESSION_SECRET, key) of the key that
 * signed in (not a bare hash: a leaked cookie is no offline test of guessed keys without the
 * secret) and an expiry. The key itself is never stored; each request maps the digest back to a principal with the keys
 * configured now, so a key removed from the configuration signs its sessions out. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../core/config.js';
import type { Principal } from '../auth.js';

export const SESSION_COOKIE = 'eng_session';

export interface Session {
  /** hex HMAC-SHA256(secret, key) of the API key that signed in */
  keyDigest: string;
  /** epoch ms after which the session is refused */
  expiresAt: number;
}

export function keyDigest(secret: string, key: string): string {
  return createHmac('sha256', secret).update(key, 'utf8').digest('hex');
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

export function signSession(session: Session, secret: string): string {
  const payload = Buffer.from(JSON.stringify({ k: session.keyDigest, e: session.expiresAt })).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/** The session a cookie value holds, or null when it is malformed, forged or expired. */
export function verifySession(value: string | undefined, secret: string, now: number): Session | null {
  if (typeof value !== 'string') return null;
  const dot = value.indexOf('.');
  if (dot <= 0) return null;
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(secret, payload), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { k?: unknown; e?: unknown };
    if (typeof parsed.k !== 'string' || typeof parsed.e !== 'number' || parsed.e <= now) return null;
    return { keyDigest: parsed.k, expiresAt: parsed.e };
  } catch {
    return null;
  }
}

/** Digest of a key -> the principal that key is today (the same scoping as the bearer auth). */
export function principalsByDigest(config: Pick<Config, 'adminKey' | 'apiKeys' | 'dashboardSessionSecret'>): (digest: string) => Principal | null {
  const byDigest = new Map<string, Principal>();
  const entry = (key: string): Principal => {
    const digest = keyDigest(config.dashboardSessionSecret, key);
    let principal = byDigest.get(digest);
    if (!principal) byDigest.set(digest, (principal = { admin: false, orgIds: new Set<string>() }));
    return principal;
  };
  if (config.adminKey !== '') entry(config.adminKey).admin = true;
  for (const [orgId, key] of config.apiKeys) (entry(key).orgIds as Set<string>).add(orgId);
  return (digest) => byDigest.get(digest) ?? null;
}
