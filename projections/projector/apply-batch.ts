/**
 * The thin Redis adapter of the projector: runs apply-batch.lua and reads the stored offsets the
 * projector resumes from. The EVALSHA is encoded here straight from KEYS and ARGV
 * (projections/projector/resp.ts): ioredis built it argument by argument, ~10% of a processor's
 * CPU with its garbage (bench/RESULTS.md). Redis answers NOSCRIPT when its script cache was
 * emptied (a restart, SCRIPT FLUSH): the batch is then sent once as EVAL, which caches it again.
 * The command declares no keys to ioredis: it is for one Redis primary (createRedis), not a
 * Cluster client, which would route it by its keys.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { Delta, StoredField } from './delta.js';
import { buildApplyArgs, type BatchPosition } from './apply-args.js';
import { EncodedCommand, encodeParts } from './resp.js';

/** with pack-rollup.lua's function in front: the one definition of a packed rollup */
export const APPLY_BATCH_LUA = readFileSync(new URL('../lua/pack-rollup.lua', import.meta.url), 'utf8') + readFileSync(new URL('../lua/apply-batch.lua', import.meta.url), 'utf8');
const SHA = createHash('sha1').update(APPLY_BATCH_LUA).digest('hex');

export type ApplyResult =
  | { applied: true }
  | { applied: false; superseded: false; held: false; storedOffset: number | null }
  | { applied: false; superseded: true; currentVersion: number }
  | { applied: false; superseded: false; held: true }
  /** retention fenced a purge of `orgId` the batch was not gated with: wait for the control topic, gate again */
  | { applied: false; superseded: false; held: false; purged: string };

type Reply = [number, number | string];

/** The keys are encoded as given: only for a connection without `keyPrefix`. */
function runScript(redis: Redis, how: readonly string[], keys: readonly string[], argv: readonly string[]): Promise<Reply> {
  const bytes = encodeParts([how, [String(keys.length)], keys, argv]);
  return redis.sendCommand(new EncodedCommand(how[0]!, bytes, 'utf8')) as Promise<Reply>;
}

async function applyScript(redis: Redis, keys: readonly string[], argv: readonly string[]): Promise<Reply> {
  try {
    return await runScript(redis, ['EVALSHA', SHA], keys, argv);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return await runScript(redis, ['EVAL', APPLY_BATCH_LUA], keys, argv);
  }
}

export async function applyBatch(redis: Redis, delta: Delta, position: BatchPosition): Promise<ApplyResult> {
  if (redis.options.keyPrefix) throw new EngagementError('internal', 'apply-batch needs a connection without keyPrefix');
  const { keys, argv } = buildApplyArgs(delta, position);
  let reply: Reply;
  try {
    reply = await applyScript(redis, keys, argv);
  } catch (cause) {
    throw new EngagementError('redis_unavailable', `apply-batch failed: ${(cause as Error).message}`, { cause, retriable: true });
  }
  if (reply[0] === 1) return { applied: true };
  if (reply[0] === 2) return { applied: false, superseded: true, currentVersion: Number(reply[1]) };
  if (reply[0] === 3) return { applied: false, superseded: false, held: true };
  if (reply[0] === 4) return { applied: false, superseded: false, held: false, purged: String(reply[1]) };
  const stored = Number(reply[1]);
  return { applied: false, superseded: false, held: false, storedOffset: stored < 0 ? null : stored };
}

/**
 * What the batch's flags hashes held before it (delta.ts `storedFieldsOf`: the first-time flags
 * and the click rule's fields), one pipelined HMGET per flags hash.
 */
export async function readStoredFields(redis: Redis, wanted: ReadonlyMap<string, ReadonlySet<string>>): Promise<StoredField> {
  if (wanted.size === 0) return () => null;
  const pipeline = redis.pipeline();
  for (const [key, fields] of wanted) pipeline.hmget(key, ...fields);
  let results: Array<[Error | null, unknown]>;
  try {
    results = (await pipeline.exec()) ?? [];
  } catch (cause) {
    throw new EngagementError('redis_unavailable', `reading first-time flags failed: ${(cause as Error).message}`, { cause, retriable: true });
  }
  const stored = new Map<string, Map<string, string>>();
  let i = 0;
  for (const [key, fields] of wanted) {
    const [error, values] = results[i++] ?? [new Error('no reply')];
    if (error) throw new EngagementError('redis_unavailable', `reading first-time flags failed: ${error.message}`, { cause: error, retriable: true });
    let j = 0;
    for (const field of fields) {
      const value = (values as Array<string | null>)[j++];
      if (value === null || value === undefined) continue;
      let held = stored.get(key);
      if (!held) stored.set(key, (held = new Map()));
      held.set(field, value);
    }
  }
  return (key, field) => stored.get(key)?.get(field) ?? null;
}

/** partition -> next offset to read, as last applied with a batch. */
export async function readStoredOffsets(redis: Redis, offsetsKey: string): Promise<Map<number, number>> {
  const hash = await redis.hgetall(offsetsKey);
  return new Map(Object.entries(hash).map(([partition, offset]) => [Number(partition), Number(offset)]));
}

const ADVANCE = `local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end
return 0`;

/**
 * Moves a partition's stored offset from `from` to `to` when the records between are gone from
 * the log (trimmed by retention: their keys expired at the horizon before the records did), so
 * the two-sided fence accepts the log start. Only if the stored offset is still `from`.
 */
export async function advanceStoredOffset(redis: Redis, offsetsKey: string, partition: number, from: number, to: number): Promise<boolean> {
  return (await redis.eval(ADVANCE, 1, offsetsKey, String(partition), String(from), String(to))) === 1;
}
