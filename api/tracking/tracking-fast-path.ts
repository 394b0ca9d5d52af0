/**
 * The tracking endpoints answered before fastify: the pixel is the hottest route by far, and the
 * framework's per-request work (request and reply objects, a child logger, routing, hooks) cost
 * about as much as the pixel's own (bench/RESULTS.md). A request is taken here only when it is
 * plainly a tracking request — GET or HEAD of /t/{o,c,a}/<token> with a token of URL-safe
 * characters, the server not closing —; anything else goes to fastify untouched, whose routes
 * answer the same way (api/routes/tracking-routes.ts), so the fast path never changes an answer.
 * The duration metric is observed as fastify's onResponse hook would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRACKING_PATHS } from '../../producers/tracking/tracking-urls.js';
import { MAX_TOKEN_CHARS, type TrackingKind } from '../../producers/tracking/tokens.js';
import { writeTrackingAnswer, type TrackingHandler } from './tracking-answer.js';
import type { HistogramSeries, LeanHistogram } from '../lean-histogram.js';

export interface FastPathOptions {
  handle: TrackingHandler;
  /** TRUST_PROXY: the client is the left-most X-Forwarded-For address, as fastify's request.ip */
  trustProxy: boolean;
  /** bound once per (method, route, status) */
  httpDuration: Pick<LeanHistogram<'method' | 'route' | 'status_code'>, 'labels'>;
  /** true once the server is closing: fastify then answers 503 */
  closing: () => boolean;
  /** runs its callback once the records of this turn are written to the spool (the answer goes after it) */
  afterWrite: (then: () => void) => void;
}

/** A token as tracking URLs carry it: base64url and dots; anything else is fastify's to judge. */
const TOKEN = /^[A-Za-z0-9_.-]+$/;
const PREFIX = '/t/';
const KINDS: Record<string, TrackingKind> = { o: 'o', c: 'c', a: 'a' };

/** The token of a tracking URL, or null when the URL is not plainly one. Pure. */
export function parseTrackingUrl(url: string): { kind: TrackingKind; token: string } | null {
  if (!url.startsWith(PREFIX) || url.charCodeAt(PREFIX.length + 1) !== 47 /* / */) return null;
  const kind = KINDS[url[PREFIX.length]!];
  if (!kind) return null;
  const start = TRACKING_PATHS[kind].length;
  const query = url.indexOf('?', start);
  const token = query === -1 ? url.slice(start) : url.slice(start, query);
  // longer than fastify's maxParamLength: fastify answers 414 for it
  if (token.length > MAX_TOKEN_CHARS) return null;
  return TOKEN.test(token) ? { kind, token } : null;
}

/** The client address as fastify would give it as request.ip. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    if (typeof forwarded === 'string' && forwarded !== '') {
      // the left-most non-empty entry, as fastify's proxy-addr takes it
      for (const entry of forwarded.split(',')) {
        const address = entry.trim();
        if (address !== '') return address;
      }
    }
  }
  return req.socket.remoteAddress;
}

/** Answers a tracking request and returns true, or returns false and leaves it to fastify. */
export function trackingFastPath(options: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const durations = new Map<string, HistogramSeries>();
  const observe = (method: string, kind: TrackingKind, status: number, seconds: number) => {
    const key = `${method} ${kind} ${status}`;
    let histogram = durations.get(key);
    if (!histogram) {
      histogram = options.httpDuration.labels({ method, route: `${TRACKING_PATHS[kind]}:token`, status_code: String(status) });
      durations.set(key, histogram);
    }
    histogram.observe(seconds);
  };
  return (req, res) => {
    const method = req.method;
    if ((method !== 'GET' && method !== 'HEAD') || req.url === undefined || options.closing()) return false;
    const parsed = parseTrackingUrl(req.url);
    if (!parsed) return false;
    const started = performance.now();
    const answer = options.handle(parsed.kind, parsed.token, { method, userAgent: req.headers['user-agent'], ip: clientIp(req, options.trustProxy) });
    options.afterWrite(() => {
      const status = writeTrackingAnswer(res, answer);
      observe(method, parsed.kind, status, (performance.now() - started) / 1000);
    });
    return true;
  };
}
