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
