/**
 * Every pixel request of the tracking scenario accounted for in Kafka. Pure.
 *
 * The pixel route awaits Kafka's ack before answering, so once the load has ended and the server
 * is closed (producer flushed), the emails topic holds one EmailOpened per pixel the server
 * recorded. A run that ended on `amount` saw every answer: Kafka must hold exactly its 2xx count.
 * A run cut by the duration cap may leave up to one request per connection answered by the
 * server but never read by the client: there the 2xx count is a lower bound.
 */

import type { LoadResult } from './load-result.js';
import type { Check } from './types.js';

export interface TrackingAccounting {
  load: LoadResult;
  /** EmailOpened events of the measured email on the emails topic */
  kafkaOpens: number;
  /** the server's own count of open-pixel requests written to Kafka (recorded + machine) */
  serverWritten: number;
  /** the server's count of open-pixel requests it could not write */
  serverWriteFailed: number;
}

export function trackingChecks(scenario: string, a: TrackingAccounting): Check[] {
  const { load } = a;
  const checks: Check[] = [
    { scenario, name: 'pixel answers', ok: load.non2xx === 0 && load.errors === 0 && load.timeouts === 0 && load.ok2xx > 0, detail: `${load.ok2xx} 2xx, ${load.non2xx} non-2xx, ${load.errors} errors, ${load.timeouts} timeouts` },
    { scenario, name: 'server write failures', ok: a.serverWriteFailed === 0, detail: `${a.serverWriteFailed} (want 0)` },
    { scenario, name: 'EmailOpened in Kafka = pixels the server wrote', ok: a.kafkaOpens === a.serverWritten, detail: `${a.kafkaOpens} (want ${a.serverWritten})` },
  ];
  if (load.endedBy === 'amount') {
    checks.push({ scenario, name: 'EmailOpened in Kafka = 2xx responses', ok: a.kafkaOpens === load.ok2xx, detail: `${a.kafkaOpens} (want ${load.ok2xx})` });
  } else {
    const ok = a.kafkaOpens >= load.ok2xx && a.kafkaOpens <= load.ok2xx + load.connections;
    checks.push({
      scenario,
      name: 'EmailOpened in Kafka ≈ 2xx responses (run cut by duration)',
      ok,
      detail: `${a.kafkaOpens} (want ${load.ok2xx} … ${load.ok2xx + load.connections}: ≤ 1 in flight per connection)`,
    });
  }
  return checks;
}
