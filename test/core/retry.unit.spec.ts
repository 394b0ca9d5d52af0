import { describe, expect, it } from 'vitest';
import { storageError } from '../../core/blob.js';
import { EngagementError, isEngagementError } from '../../core/errors.js';
import { withRetry } from '../../core/retry.js';

const noSleep = async (): Promise<void> => undefined;

describe('the retry policy reads retriable', () => {
  it('retries a retriable error until the work succeeds', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new EngagementError('storage_unavailable', 'down', { retriable: true });
        return 'done';
      },
      { sleep: noSleep, onRetry: (_error, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('done');
    expect(retries).toEqual([0, 1]);
  });

  it('raises a non-retriable error at once', async () => {
    let calls = 0;
    const work = async (): Promise<never> => {
      calls++;
      throw new EngagementError('unauthorized', 'bad credentials');
    };
    await expect(withRetry(work, { sleep: noSleep })).rejects.toMatchObject({ code: 'unauthorized' });
    expect(calls).toBe(1);
  });

  it('stops with superseded once the result is no longer wanted', async () => {
    let wanted = true;
    const work = async (): Promise<never> => {
      wanted = false;
      throw new EngagementError('storage_unavailable', 'down', { retriable: true });
    };
    const error = await withRetry(work, { sleep: noSleep, wanted: () => wanted }).catch((e: unknown) => e);
    expect(isEngagementError(error, 'superseded')).toBe(true);
  });
});

describe('a retry deadline', () => {
  it('raises the last retriable failure once the next attempt would start after the deadline, saying how long it tried', async () => {
    let t = 0;
    let calls = 0;
    const work = async (): Promise<never> => {
      calls++;
      throw new EngagementError('kafka_unavailable', 'no leader yet', { retriable: true, details: { kafkaError: 'NOT_LEADER_FOR_PARTITION' } });
    };
    const sleep = async (ms: number): Promise<void> => void (t += ms);
    const error = await withRetry(work, { sleep, now: () => t, deadlineMs: 3_000, backoff: { baseMs: 100, capMs: 1_000 } }).catch((e: unknown) => e);
    expect(isEngagementError(error, 'kafka_unavailable')).toBe(true);
    const gaveUp = error as EngagementError;
    expect(gaveUp.message).toMatch(/^no leader yet \(still failing after \d+ attempts in \d+ ms; gave up\)$/);
    expect(gaveUp.details).toMatchObject({ kafkaError: 'NOT_LEADER_FOR_PARTITION', attempts: calls });
    expect(t).toBeLessThanOrEqual(3_000);
    expect(calls).toBeGreaterThan(2);
  });

  it('does not delay a success', async () => {
    const slept: number[] = [];
    const result = await withRetry(async () => 'done', { sleep: async (ms) => void slept.push(ms), deadlineMs: 0 });
    expect(result).toBe('done');
    expect(slept).toEqual([]);
  });
});

describe('storage errors', () => {
  it('are retriable when storage is unreachable or in transient trouble, not when it refuses', () => {
    expect(storageError(new Error('connect ECONNREFUSED'), 'upload').retriable).toBe(true);
    expect(storageError(Object.assign(new Error('busy'), { statusCode: 503 }), 'upload').retriable).toBe(true);
    expect(storageError(Object.assign(new Error('throttled'), { statusCode: 429 }), 'upload').retriable).toBe(true);
    const refused = storageError(Object.assign(new Error('auth failed'), { statusCode: 403 }), 'upload');
    expect(refused.retriable).toBe(false);
    expect(refused.message).toContain('HTTP 403');
  });
});
