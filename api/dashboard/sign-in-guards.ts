/**
 * What protects the dashboard's forms and its sign-in, pure so it is tested without a server:
 * the same-site check on posted forms, a per-IP attempt limit, and the IP as it may be logged.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * May this form post be acted on? Browsers say where a request comes from in `Sec-Fetch-Site`;
 * only `same-origin` passes. Without it (older browsers), `Origin` must be the configured public
 * origin or the origin of the Host the request was sent to. With neither header, no.
 * SameSite=Strict keeps the cookie off other sites' requests; this keeps their forms off ours
 * (a forged sign-in would put the victim in the attacker's session).
 */
export function sameSiteForm(headers: { 'sec-fetch-site'?: string | string[]; origin?: string | string[]; host?: string | string[] }, publicOrigin: string): boolean {
  const fetchSite = one(headers['sec-fetch-site']);
  if (fetchSite !== undefined) return fetchSite === 'same-origin';
  const origin = one(headers.origin);
  if (origin === undefined) return false;
  const parsed = parseOrigin(origin);
  if (parsed === null) return false; // "null" (opaque origins) and anything malformed
  const host = one(headers.host);
  return parsed.origin === parseOrigin(publicOrigin)?.origin || (host !== undefined && parsed.host === host);
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

function parseOrigin(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/** A token bucket per client: `burst` attempts at once, then one every `refillMs`. In memory, per process. */
export class AttemptLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly burst: number,
    readonly refillMs: number,
    private readonly clock: () => number = Date.now,
    private readonly maxClients = 10_000,
  ) {}

  /** Takes one attempt; the ms to wait before the next when there is none left. */
  take(client: string): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const now = this.clock();
    const bucket = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(client, bucket);
      return { allowed: false, retryAfterMs: Math.ceil((1 - bucket.tokens) * this.refillMs) };
    }
    bucket.tokens -= 1;
    this.buckets.delete(client); // re-inserted last: the map's order is the least recently seen first
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.maxClients) this.forgetFull(now);
    return { allowed: true };
  }

  private forgetFull(now: number): void {
    for (const [client, bucket] of this.buckets) {
      if (this.buckets.size <= this.maxClients) return;
      // full again by now, or simply the oldest: either way forgetting it costs at most a refill
      if (bucket.tokens + (now - bucket.at) / this.refillMs >= this.burst || this.buckets.size > this.maxClients) this.buckets.delete(client);
    }
  }
}

/** An IP as it may go in a log: IPv4 to its /24, IPv6 to its /48. */
export function maskIp(ip: string): string {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(ip)) {
    const [head = ''] = ip.split('::');
    const groups = head.split(':').filter((g) => g !== '');
    return `${[...groups.slice(0, 3), ...Array(Math.max(0, 3 - groups.length)).fill('0')].join(':')}::/48`;
  }
  return 'unknown';
}
