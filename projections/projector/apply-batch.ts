/**
 * The thin Redis adapter of the projector: runs apply-batch.lua (EVALSHA via ioredis
 * defineCommand) and reads the stored offsets the projector resumes from.
 */

import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { Delta } from './delta.js';
import { buildApplyArgs, type BatchPosition } from './apply-args.js';

const LUA = readFileSync(new URL('../lua/apply-batch.lua', import.meta.url), 'utf8');
const COMMAND = 'engagementApplyBatch';

export type ApplyResult =
  | { applied: true; newFlags: number }
  | { applied: false; superseded: false; held: false; storedOffset: number | null }
  | { applied: false; superseded: true; currentVersion: number }
  | { applied: false; superseded: false; held: true }
  /** retention fenced a purge of `orgId` the batch was not gated with: wait for the control topic, gate again */
  | { applied: false; superseded: false; held: false; purged: string };

interface WithCommand {
  /** ioredis flattens array arguments: tens of thousands of ARGV would overflow a spread call */
  [COMMAND](numKeys: number, keys: string[], argv: string[]): Promise<[number, number | string]>;
}

export function defineApplyBatch(redis: Redis): void {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: LUA });
}

export async function applyBatch(redis: Redis, delta: Delta, position: BatchPosition): Promise<ApplyResult> {
  defineApplyBatch(redis);
  const { keys, argv } = buildApplyArgs(delta, position);
  let reply: [number, number | string];
  try {
    reply = await (redis as unknown as WithCommand)[COMMAND](keys.length, keys, argv);
  } catch (cause) {
    throw new EngagementError('redis_unavailable', `apply-batch failed: ${(cause as Error).message}`, { cause, retriable: true });
  }
  if (reply[0] === 1) return { applied: true, newFlags: Number(reply[1]) };
  if (reply[0] === 2) return { applied: false, superseded: true, currentVersion: Number(reply[1]) };
  if (reply[0] === 3) return { applied: false, superseded: false, held: true };
  if (reply[0] === 4) return { applied: false, superseded: false, held: false, purged: String(reply[1]) };
  const stored = Number(reply[1]);
  return { applied: false, superseded: false, held: false, storedOffset: stored < 0 ? null : stored };
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
