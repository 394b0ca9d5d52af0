import { afterAll, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../core/coalesced-writes.js';
import { createRedis } from '../../core/redis.js';
import { testConfig } from '../support/env.js';

/**
 * Commands issued in one event-loop turn after coalesceWrites leave in one socket write, in
 * order, and each gets its own reply; the next turn writes again.
 */
const config = testConfig();
const redis = createRedis(config);
const key = `${config.redisPrefix}:coalesce`;

type Writable = { _write: (...args: unknown[]) => unknown; _writev: (chunks: unknown[], cb: unknown) => unknown };

/** Counts the socket's writes (one syscall each) and the chunks they carry. */
function countWrites(): { writes: number; chunks: number; restore(): void } {
  const stream = redis.stream as unknown as Writable;
  const write = stream._write;
  const writev = stream._writev;
  const counts = {
    writes: 0,
    chunks: 0,
    restore() {
      stream._write = write;
      stream._writev = writev;
    },
  };
  stream._write = (...args) => {
    counts.writes++;
    counts.chunks++;
    return write.apply(stream, args);
  };
  stream._writev = (chunks, cb) => {
    counts.writes++;
    counts.chunks += chunks.length;
    return writev.call(stream, chunks, cb);
  };
  return counts;
}

afterAll(async () => {
  await redis.del(key);
  await redis.quit();
});

describe('coalesceWrites', () => {
  it('sends the commands of one turn in one write, in order, each with its reply', async () => {
    await redis.ping();
    const counts = countWrites();
    try {
      const replies = Array.from({ length: 5 }, (_, i) => {
        coalesceWrites(redis);
        return i === 0 ? redis.set(key, 'first') : redis.append(key, `+${i}`);
      });
      coalesceWrites(redis);
      const read = redis.get(key);
      expect(await Promise.all(replies)).toEqual(['OK', 7, 9, 11, 13]);
      expect(await read).toBe('first+1+2+3+4');
      expect(counts).toMatchObject({ writes: 1, chunks: 6 });
      // a later turn is not held by the earlier one
      coalesceWrites(redis);
      expect(await redis.get(key)).toBe('first+1+2+3+4');
      expect(counts).toMatchObject({ writes: 2, chunks: 7 });
    } finally {
      counts.restore();
    }
  });

  it('leaves a connection that is not corked writing at once', async () => {
    const counts = countWrites();
    try {
      await Promise.all([redis.get(key), redis.get(key)]);
      expect(counts.writes).toBe(2);
    } finally {
      counts.restore();
    }
  });
});
