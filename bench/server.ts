/**
 * The real API server in the bench process (`startServer` on a free loopback port), with its own
 * metrics registry so a scenario reads the server's counters after `close()` (which flushes).
 */

import { startServer, type RunningServer } from '../api/server.js';
import { createServerMetrics } from '../api/metrics.js';
import type { Config } from '../core/config.js';

export type BenchServer = RunningServer;

/** Resolves once the server has reached Kafka (it listens before). */
export async function startBenchServer(config: Config, options: { unsealed?: boolean } = {}): Promise<BenchServer> {
  const server = await startServer({ ...config, port: 0, host: '127.0.0.1' }, { metrics: createServerMetrics({ defaultMetrics: false }), ...(options.unsealed ? { unsealedForBench: true } : {}) });
  await server.kafkaReached();
  return server;
}
