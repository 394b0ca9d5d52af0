/**
 * What a tracking request is answered, and the one writer of those answers: the fast path and the
 * fastify routes answer byte for byte the same.
 */
import type { ServerResponse } from 'node:http';
import { NO_CACHE_HEADERS, TRANSPARENT_GIF } from '../../producers/tracking/pixel.js';
import type { TrackingKind } from '../../producers/tracking/tokens.js';

export type TrackingAnswer = { kind: 'pixel' } | { kind: 'redirect'; location: string } | { kind: 'not_found' };

/** What the request tells about the client, as the server sees it (ip after the proxy rules). */
export interface TrackingClient {
  method: string;
  userAgent: string | undefined;
  ip: string | undefined;
}

/** pino's and fastify's loggers both are one */
export interface TrackingLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export type TrackingHandler = (kind: TrackingKind, token: string, client: TrackingClient) => TrackingAnswer;

const PIXEL_HEADERS = { ...NO_CACHE_HEADERS, 'content-type': 'image/gif', 'content-length': String(TRANSPARENT_GIF.length) };
/** The GIF as a latin1 string: node writes a string body and the headers in one write(2), a
 *  Buffer body in a writev of two — measurably slower on the hottest route. */
const GIF_LATIN1 = TRANSPARENT_GIF.toString('latin1');
const NOT_FOUND_BODY = JSON.stringify({ error: 'not_found', message: 'unknown or invalid tracking link' });
const NOT_FOUND_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(NOT_FOUND_BODY)), 'cache-control': 'no-store' };

/** Writes the answer; returns the status code. */
export function writeTrackingAnswer(res: ServerResponse, answer: TrackingAnswer): number {
  switch (answer.kind) {
    case 'pixel':
      res.writeHead(200, PIXEL_HEADERS);
      res.end(GIF_LATIN1, 'latin1');
      return 200;
    case 'redirect':
      res.writeHead(302, { location: answer.location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': '0' });
      res.end();
      return 302;
    case 'not_found':
      res.writeHead(404, NOT_FOUND_HEADERS);
      res.end(NOT_FOUND_BODY);
      return 404;
    default: {
      const never: never = answer;
      return never;
    }
  }
}
