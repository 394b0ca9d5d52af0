/**
 * Key metrics on the default registry (GET /metrics): keys cached (summed over the keyrings of
 * this process) and field decryption failures by reason. Created once per process.
 */

import { Counter, Gauge, register } from 'prom-client';

export type DecryptFailure = 'key_unknown' | 'key_destroyed' | 'auth_failed' | 'unwrap_failed' | 'malformed';

const sources = new Set<() => number>();

export function registerKeyCount(count: () => number): () => void {
  sources.add(count);
  return () => sources.delete(count);
}

export const keyMetrics = {
  cached:
    (register.getSingleMetric('engagement_keys_cached') as Gauge | undefined) ??
    new Gauge({
      name: 'engagement_keys_cached',
      help: 'Organisation data keys held unwrapped in memory (every keyring of this process)',
      collect() {
        let n = 0;
        for (const count of sources) n += count();
        this.set(n);
      },
    }),
  decryptFailures:
    (register.getSingleMetric('engagement_decrypt_failures_total') as Counter<'reason'> | undefined) ??
    new Counter<'reason'>({
      name: 'engagement_decrypt_failures_total',
      help: 'Encrypted records or keys that could not be opened, by reason (key_unknown, key_destroyed, auth_failed, unwrap_failed, malformed)',
      labelNames: ['reason'],
    }),
};
