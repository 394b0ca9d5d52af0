/**
 * Redis bytes per followed email and per contact (MEMORY USAGE sampled over the projection's
 * keys, scaled by key counts), and the peak RSS (VmHWM) of one processor child draining the backlog.
 */

import type { Redis } from 'ioredis';
import { createRedis } from '../../core/redis.js';
import { scanKeys } from '../../core/redis-scan.js';
import { keysFor } from '../../projections/keys.js';
import { drainWithChildren } from '../child-run.js';
import { progress } from '../progress.js';
import { summarize } from '../stats.js';
import { check, type BenchContext, type ScenarioResult } from '../types.js';

const SAMPLE = 2000;

interface KindUsage {
  keys: number;
  meanBytes: number;
}

/** `owners`: the distinct owners of the keys found (`ownerOf` a key name), counted when given. */
async function usage(redis: Redis, pattern: string, ownerOf?: (key: string) => string, owners?: Set<string>): Promise<KindUsage> {
  let keys = 0;
  const sampled: string[] = [];
  for await (const batch of scanKeys(redis, pattern, 2000)) {
    keys += batch.length;
    for (const key of batch) if (sampled.length < SAMPLE) sampled.push(key);
    if (ownerOf && owners) for (const key of batch) owners.add(ownerOf(key));
  }
  const pipeline = redis.pipeline();
  for (const key of sampled) pipeline.memory('USAGE', key, 'SAMPLES', '0');
  const bytes = ((await pipeline.exec()) ?? []).map(([, v]) => Number(v ?? 0));
  return { keys, meanBytes: bytes.length ? summarize(bytes).mean : 0 };
}

export async function memoryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'memory';
  progress('memory: one processor child over the backlog (VmHWM sampled)');
  const run = await drainWithChildren(ctx, 1);
  const sinks = ctx.sinks[ctx.sinks.length - 1]!;
  const redis = createRedis(sinks);
  const base = keysFor(sinks.redisPrefix).version(1).base;
  const kinds = ['email', 'emailr', 'contact', 'contactd', 'orgd', 'senderd', 'templated', 'orgm', 'senderm', 'templatem', 'contactm', 'contacth', 'orgkeys', 'seen'] as const;
  // A contact: anyone with a contact-day (every recipient of a followed email has one); the
  // contact hash exists only for those a send gave a time zone.
  const recipients = new Set<string>();
  const dayOwner = (key: string): string => key.slice(0, key.lastIndexOf(':')).replace(':contactd:', ':');
  const u = Object.fromEntries(
    await Promise.all(kinds.map(async (k) => [k, await (k === 'contactd' ? usage(redis, `${base}${k}:*`, dayOwner, recipients) : usage(redis, `${base}${k}:*`))] as const)),
  ) as Record<(typeof kinds)[number], KindUsage>;
  redis.disconnect();
  const total = (k: KindUsage): number => k.keys * k.meanBytes;
  const perEmail = u.email.meanBytes + (total(u.emailr) / Math.max(1, u.emailr.keys));
  const contacts = Math.max(1, recipients.size);
  const perContact = (total(u.contact) + total(u.contactd) + total(u.contactm) + total(u.contacth)) / contacts;
  const all = kinds.reduce((s, k) => s + total(u[k]), 0);
  return {
    rows: [
      { scenario: name, metric: 'Redis bytes per followed email', value: perEmail, unit: 'B', note: `email hash ${Math.round(u.email.meanBytes)} + recipient flags ${Math.round(u.emailr.meanBytes)} (${u.emailr.keys} followed emails)` },
      { scenario: name, metric: 'Redis bytes per contact', value: perContact, unit: 'B', note: `contact hash (${u.contact.keys}: those a send gave a zone) + its contact-day hashes (${contacts} contacts, ${u.contactd.keys} contact-days) + their month hashes for reads (${Math.round(total(u.contactm) / contacts)} B) + best-time months (${u.contacth.keys}, ${Math.round(total(u.contacth) / contacts)} B)` },
      { scenario: name, metric: 'Redis bytes per event (dedup seen sets)', value: total(u.seen) / ctx.backlog, unit: 'B', note: 'expire after the 8-day dedup window' },
      {
        scenario: name,
        metric: 'Redis bytes of packed rollups per day hash',
        value: (total(u.orgm) + total(u.senderm) + total(u.templatem)) / Math.max(1, u.orgd.keys + u.senderd.keys + u.templated.keys),
        unit: 'B',
        note: `month hashes (${u.orgm.keys + u.senderm.keys + u.templatem.keys}) for the KPI reads, against ${Math.round((total(u.orgd) + total(u.senderd) + total(u.templated)) / Math.max(1, u.orgd.keys + u.senderd.keys + u.templated.keys))} B per day hash (${u.orgd.keys + u.senderd.keys + u.templated.keys})`,
      },
      { scenario: name, metric: 'Redis projection total', value: all / 2 ** 20, unit: 'MiB', note: `${ctx.backlog} records; sampled ≤ ${SAMPLE} keys per kind` },
      { scenario: name, metric: 'processor peak RSS (VmHWM)', value: (run.peakRssBytes[0] ?? 0) / 2 ** 20, unit: 'MiB', note: 'one child process, all roles' },
    ],
    checks: [
      { scenario: name, name: 'child drained', ok: run.drained, detail: run.drained ? 'yes' : 'timed out' },
      check(name, 'child stored offsets', run.storedOffsets, ctx.backlog),
    ],
  };
}
