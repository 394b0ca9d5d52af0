/**
 * Every pixel request of the tracking scenario accounted for in Kafka. Pure.
 *
 * The pixel is answered once its event is in the durable spool; closing the server drains the
 * spool, so afterwards the emails topic holds one EmailOpened per pixel the server recorded.
 * wrk is cut by its duration: it counts the answers it read, and up to one request per connection
 * may have been answered by the server but not read, so the server's count is within
 * [wrk answers, wrk answers + connections].
 */

import type { Check } from './types.js';
import type { WrkResult } from './wrk-output.js';

export interface TrackingAccounting {
  pixel: Pick<WrkResult, 'requests' | 'non2xx3xx' | 'socketErrors'>;
  connections: number;
  /** EmailOpened events of the measured email on the emails topic */
  kafkaOpens: number;
  /** the server's own count of measured open pixels it recorded (recorded + machine) */
  serverWritten: number;
  /** pixels the spool refused (full, disk error, invalid) */
  notSpooled: number;
}

export function trackingChecks(scenario: string, a: TrackingAccounting): Check[] {
  const { pixel } = a;
  return [
    { scenario, name: 'pixel answers', ok: pixel.non2xx3xx === 0 && pixel.socketErrors === 0 && pixel.requests > 0, detail: `${pixel.requests} answered, ${pixel.non2xx3xx} non-2xx, ${pixel.socketErrors} socket errors` },
    { scenario, name: 'pixels not spooled', ok: a.notSpooled === 0, detail: `${a.notSpooled} (want 0)` },
    { scenario, name: 'EmailOpened in Kafka = pixels the server recorded', ok: a.kafkaOpens === a.serverWritten, detail: `${a.kafkaOpens} (want ${a.serverWritten})` },
    {
      scenario,
      name: 'pixels recorded ≈ wrk answers (≤ 1 in flight per connection at the end)',
      ok: a.serverWritten >= pixel.requests && a.serverWritten <= pixel.requests + a.connections,
      detail: `${a.serverWritten} (want ${pixel.requests} … ${pixel.requests + a.connections})`,
    },
  ];
}
