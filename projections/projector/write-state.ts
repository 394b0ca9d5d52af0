/**
 * Writes what a FoldState drained, with the offsets it covers, in one MULTI/EXEC: atomically,
 * so a stopped build resumes exactly from its stored offsets. The same two fences as
 * apply-batch.lua, checked under WATCH (EXEC fails if another writer moved the offsets or
 * retention fenced a purge between the check and the write):
 *   - offsets: every partition's stored offset (or, with none stored, the version's start) is
 *     exactly where this writer's last write left it;
 *   - purges: no org written has a purge fence later than the purge its events were gated with.
 * Use a connection of its own: WATCH belongs to the connection.
 */

import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import { orgDigest } from '../purge-fence.js';
import { PACK_HEADER, SEEN_TTL_SECONDS } from './apply-args.js';
import type { DrainedState } from './fold-state.js';
import { EncodedCommand } from './resp.js';

/** Members per SADD and fields per HSET: bounded arguments per command. */
const CHUNK = 1000;
/** ARGV items per write-keys.lua call (Lua's unpack() limit is per HSET, far above one key's fields). */
const SCRIPT_ARGS = 20_000;
const LUA = readFileSync(new URL('../lua/write-keys.lua', import.meta.url), 'utf8');
const PACK_LUA = readFileSync(new URL('../lua/pack-rollup.lua', import.meta.url), 'utf8') + readFileSync(new URL('../lua/pack-rollups.lua', import.meta.url), 'utf8');
/** day/month key pairs per pack-rollups.lua call */
const PACK_CHUNK = 500;

export interface StateWrite {
  offsetsKey: string;
  /** partition -> stored offset this writer expects (its previous write, or the version's start) */
  expected: ReadonlyMap<number, number>;
  /** partition -> where the version starts: nothing stored for a partition means exactly there */
  start: ReadonlyMap<number, number>;
  /** partition -> next offset to store with this write */
  next: ReadonlyMap<number, number>;
  /** P:purge:fence and, per org written, the purgedAt its gate knew (-1 for none) */
  fence?: { key: string; orgs: ReadonlyMap<string, number> };
}

export type WriteResult =
  | { written: true; commands: number }
  | { written: false; reason: 'offsets'; partition: number; stored: number | null }
  | { written: false; reason: 'purged'; orgId: string }
  | { written: false; reason: 'raced' };

export async function writeDrained(conn: Redis, drained: DrainedState, write: StateWrite): Promise<WriteResult> {
  const fenceOrgs = write.fence ? [...write.fence.orgs] : [];
  // the big commands are encoded here (resp.ts), without ioredis's key prefixing
  if (conn.options.keyPrefix) throw new EngagementError('internal', 'writeDrained needs a connection without keyPrefix');
  try {
    // Loaded before the MULTI: its EVALSHA calls are encoded here, not by ioredis's script support.
    const sha = (await conn.script('LOAD', LUA)) as string;
    const packSha = drained.pack.size > 0 ? ((await conn.script('LOAD', PACK_LUA)) as string) : '';
    await conn.watch(write.offsetsKey, ...(write.fence && fenceOrgs.length > 0 ? [write.fence.key] : []));
    const stored = await conn.hgetall(write.offsetsKey);
    for (const [partition, expected] of write.expected) {
      const value = stored[String(partition)];
      const at = value === undefined ? write.start.get(partition) : Number(value);
      if (at !== expected) {
        await conn.unwatch();
        return { written: false, reason: 'offsets', partition, stored: value === undefined ? null : Number(value) };
      }
    }
    if (write.fence && fenceOrgs.length > 0) {
      const fences = await conn.hmget(write.fence.key, ...fenceOrgs.map(([orgId]) => orgDigest(orgId)));
      const fenced = fenceOrgs.find(([, known], i) => fences[i] !== null && Number(fences[i]) > known);
      if (fenced) {
        await conn.unwatch();
        return { written: false, reason: 'purged', orgId: fenced[0] };
      }
    }
    const multi = conn.multi();
    // a MULTI is an ioredis Pipeline: it queues any Command object (its typings show only the chainable commands)
    const queue = multi as unknown as { sendCommand(command: EncodedCommand): unknown };
    let commands = 0;
    const send = (args: string[]): void => {
      queue.sendCommand(new EncodedCommand(args));
      commands++;
    };
    // HSET and EXPIREAT of many keys per script call: ioredis builds one command object per call,
    // which was most of the Node time of a write with one command per key.
    let chunkKeys: string[] = [];
    let chunkArgs: string[] = [];
    const flush = (): void => {
      if (chunkKeys.length === 0) return;
      send(['EVALSHA', sha, String(chunkKeys.length), ...chunkKeys, ...chunkArgs]);
      chunkKeys = [];
      chunkArgs = [];
    };
    const expiries = new Map(drained.expireAt);
    const addKey = (key: string, fields: ReadonlyMap<string, string> | undefined, incr: ReadonlyMap<string, number> | undefined): void => {
      const at = expiries.get(key);
      expiries.delete(key);
      chunkKeys.push(key);
      chunkArgs.push(at === undefined ? '' : String(at), String(fields?.size ?? 0), String(incr?.size ?? 0));
      if (fields) for (const [field, value] of fields) chunkArgs.push(field, value);
      if (incr) for (const [field, by] of incr) chunkArgs.push(field, String(by));
      if (chunkArgs.length >= SCRIPT_ARGS) flush();
    };
    // Flags a click burst took back, first: a field deleted and then set again within this drain
    // is only in `set`, but HDEL before HSET would leave it set regardless.
    for (const [key, fields] of drained.del) {
      const all = [...fields];
      for (let at = 0; at < all.length; at += CHUNK) {
        multi.hdel(key, ...all.slice(at, at + CHUNK));
        commands++;
      }
    }
    // Every key's writes in one entry of one script call: its HSET, its HINCRBYs (a key an earlier
    // write wrote goes on by increments) and its expiry, after them.
    for (const [key, fields] of drained.set) {
      if (fields.size > CHUNK) {
        // a huge hash (a flags hash of a mass mailing) goes on its own, in bounded HSETs
        let args = ['HSET', key];
        for (const [field, value] of fields) {
          args.push(field, value);
          if (args.length >= 2 + 2 * CHUNK) {
            send(args);
            args = ['HSET', key];
          }
        }
        if (args.length > 2) send(args);
        continue;
      }
      addKey(key, fields, drained.incr.get(key));
    }
    for (const [key, incr] of drained.incr) {
      // a key not set in this drain, or a huge one whose HSETs went on their own above
      const fields = drained.set.get(key);
      if (fields === undefined || fields.size > CHUNK) addKey(key, undefined, incr);
    }
    flush();
    for (const [key, members] of drained.add) {
      for (let at = 0; at < members.length; at += CHUNK) send(['SADD', key, ...members.slice(at, at + CHUNK)]);
    }
    for (const key of drained.seenKeys) {
      multi.expire(key, SEEN_TTL_SECONDS);
      commands++;
    }
    for (const [key, at] of expiries) {
      multi.expireat(key, at);
      commands++;
    }
    // last: a packed day is what its day hash holds after everything above (pack-rollup.lua)
    const packs = [...drained.pack];
    for (let at = 0; at < packs.length; at += PACK_CHUNK) {
      const chunk = packs.slice(at, at + PACK_CHUNK);
      const keys: string[] = [];
      const args: string[] = [...PACK_HEADER];
      for (const [day, { month, field, expireAt, kind, index }] of chunk) {
        keys.push(day, month, index);
        args.push(field, String(expireAt), kind);
      }
      send(['EVALSHA', packSha, String(keys.length), ...keys, ...args]);
    }
    const offsets: string[] = [];
    for (const [partition, next] of write.next) offsets.push(String(partition), String(next));
    if (offsets.length > 0) multi.hset(write.offsetsKey, ...offsets);
    const results = await multi.exec();
    if (results === null) return { written: false, reason: 'raced' };
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    return { written: true, commands: commands + 1 };
  } catch (cause) {
    await conn.unwatch().catch(() => undefined);
    if (cause instanceof EngagementError) throw cause;
    throw new EngagementError('redis_unavailable', `writing the folded projection failed: ${(cause as Error).message}`, { cause, retriable: true });
  }
}
