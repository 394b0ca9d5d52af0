/**
 * The load generator of the tracking and kpi scenarios, in its own process so the server under
 * test does not share an event loop with it. Reads one LoadSpec (JSON) on stdin, runs autocannon
 * closed-loop over the paths round robin, bounded by `amount` and `maxDurationMs`, and prints one
 * JSON LoadResult line on stdout. Latencies are taken from autocannon's per-response timings
 * (hrtime, sub-millisecond), not its integer-millisecond histogram.
 */

import autocannon from 'autocannon';
import { toLoadResult, type LoadSpec } from './load-result.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const spec = JSON.parse(await readStdin()) as LoadSpec;
if (spec.paths.length === 0) throw new Error('load child: no paths');
const latencies = new Float64Array(spec.amount);
let samples = 0;
let next = 0;
let startedAt = 0n;
let lastAt = 0n;

const instance = autocannon(
  {
    url: spec.baseUrl,
    connections: Math.min(spec.connections, spec.amount),
    amount: spec.amount,
    timeout: 10,
    headers: spec.headers ?? {},
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: spec.paths[next++ % spec.paths.length]! }) }],
  },
  (error, result) => {
    clearTimeout(cap);
    if (error) {
      process.stderr.write(`load child: ${error.stack ?? String(error)}\n`);
      process.exit(1);
    }
    const elapsedMs = lastAt > startedAt ? Number(lastAt - startedAt) / 1e6 : 0;
    const load = toLoadResult(spec, result, latencies.subarray(0, samples), elapsedMs);
    process.stdout.write(`${JSON.stringify(load)}\n`);
  },
);
startedAt = process.hrtime.bigint();
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  lastAt = process.hrtime.bigint();
  if (statusCode >= 200 && statusCode < 300 && samples < latencies.length) latencies[samples++] = responseTime;
});
const cap = setTimeout(() => instance.stop(), spec.maxDurationMs);
