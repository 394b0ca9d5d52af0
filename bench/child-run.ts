/**
 * Drains the backlog with N processor child processes in one group, into a fresh Redis prefix
 * and container (the earlier scenarios' groups are deleted first so the lander starts over).
 * Timed from the first record any child processed to the last offset applied.
 */

import { createRedis } from '../core/redis.js';
import { topicsFor } from '../core/topics.js';
import { ProcessorChild } from './child.js';
import { deleteContainers, deleteGroups, freshSinks } from './env.js';
import { progress } from './progress.js';
import { storedOffsetSum } from './projection-totals.js';
import type { BenchContext } from './types.js';

export interface ChildRun {
  instances: number;
  steadyMs: number;
  startToFirstMs: number;
  drained: boolean;
  storedOffsets: number;
  landerRecords: number;
  fenced: number;
  peakRssBytes: number[];
}

/** How long a drain may make no progress at all (offsets, records landed, blobs uploaded) before it counts as stalled (at least three idle flushes of the lander). */
const MIN_STALL_MS = 120_000;

export async function drainWithChildren(ctx: BenchContext, instances: number): Promise<ChildRun> {
  // the earlier drains' blobs first: they would only slow Azurite down for this one
  await deleteContainers(ctx.config, ctx.config.topicPrefix);
  const sinks = freshSinks(ctx.config);
  ctx.sinks.push(sinks);
  await deleteGroups(ctx.config, (g) => g.endsWith('.projector') || g.endsWith('.lander'));
  const topic = topicsFor(ctx.config).emails;
  const redis = createRedis(sinks);
  const nodeArgs = process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const startAt = Date.now();
  const children = Array.from({ length: instances }, () => new ProcessorChild(sinks, {}, nodeArgs));
  const peaks = children.map(() => 0);
  try {
    await Promise.all(children.map((c) => c.ready));
    const deadline = Date.now() + (ctx.smoke ? 90_000 : 900_000);
    let stored = 0;
    let endAt = 0;
    let shown = Date.now();
    // No progress at all for this long is a stall (e.g. Azurite stopped reading uploads), not slowness: say so, do not wait out the deadline.
    const stallMs = Math.max(MIN_STALL_MS, 3 * sinks.blobFlushSeconds * 1000);
    let progressAt = Date.now();
    let last = '';
    while (Date.now() < deadline) {
      children.forEach((c, i) => (peaks[i] = Math.max(peaks[i]!, c.peakRss())));
      stored = await storedOffsetSum(redis, sinks.redisPrefix, topic);
      const landed = children.reduce((s, c) => s + c.latest.lander, 0);
      if (stored === ctx.backlog && landed >= ctx.backlog) {
        endAt = Math.max(...children.map((c) => c.latest.t));
        break;
      }
      const blobs = children.reduce((s, c) => s + c.latest.blobs, 0);
      if (`${stored}/${landed}/${blobs}` !== last) {
        last = `${stored}/${landed}/${blobs}`;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > stallMs) {
        progress(`${instances} instance(s): no progress for ${stallMs / 1000} s (stored offsets ${stored}, lander ${landed}): stalled, giving up`);
        break;
      }
      if (Date.now() - shown > 3000) {
        shown = Date.now();
        progress(`${instances} instance(s): stored offsets ${stored}/${ctx.backlog}, lander ${landed}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const firstAt = Math.min(...children.map((c) => c.firstActivityAt || Infinity));
    children.forEach((c, i) => (peaks[i] = Math.max(peaks[i]!, c.peakRss())));
    return {
      instances,
      steadyMs: endAt - firstAt,
      startToFirstMs: firstAt - startAt,
      drained: endAt > 0,
      storedOffsets: stored,
      landerRecords: children.reduce((s, c) => s + c.latest.lander, 0),
      fenced: children.reduce((s, c) => s + c.latest.fenced, 0),
      peakRssBytes: peaks,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    redis.disconnect();
  }
}
