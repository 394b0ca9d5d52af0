/**
 * A batch applied in runs (processors/projector/horizon-runs.ts) whose later run is refused: the
 * runs before it stay applied, the outcome says where they end and counts only them, and the rest
 * read again from there applies once.
 */
import { describe, expect, it } from 'vitest';
import { ControlHistory } from '../../processors/gate/control-history.js';
import { projectBatch } from '../../processors/projector/project-batch.js';
import { readStoredOffsets } from '../../projections/projector/apply-batch.js';
import type { Delta } from '../../projections/projector/delta.js';
import { HeldFlags } from '../../projections/projector/held-flags.js';
import { keysFor } from '../../projections/keys.js';
import { fixture } from '../support/fixtures.js';
import { testRedis } from '../support/env.js';
import { kafkaRecords, testBatchTarget } from './support/redis-projection.js';

const HOUR = 3_600_000;

/** An email's send and open, a dead letter, and an open past the 4-day horizon: two runs (offsets 0–2, 3). */
function twoRuns() {
  const { config, redis } = testRedis();
  const keys = keysFor(config.redisPrefix);
  const sentAt = Date.now() - 100 * HOUR;
  const history = new ControlHistory();
  history.apply(fixture('OrgEngagementEnabled', { occurredAt: sentAt - HOUR }));
  const events = [
    fixture('EmailSent', { occurredAt: sentAt, acceptedAt: sentAt + 1000 }),
    fixture('EmailOpened', { occurredAt: sentAt + 50 * HOUR }),
    fixture('OrgEngagementEnabled', { occurredAt: sentAt + 60 * HOUR }), // not an email event: a dead letter
    fixture('EmailOpened', { occurredAt: sentAt + 98 * HOUR }), // past the 4-day horizon: a run of its own
  ];
  return { redis, keys, vk: keys.version(1), history, events };
}

describe('a batch applied in runs', () => {
  it('keeps the runs applied before a refused one, counts them, and applies the rest once when it is read again', async () => {
    const { redis, keys, vk, history, events } = twoRuns();
    const holdKey = keys.projectionHold();
    // A replay takes the hold between the two runs' scripts (on the same connection, so in between).
    class HoldAfterFirstRun extends HeldFlags {
      override keep(delta: Delta, flagKeys: Iterable<string>, nowSeconds: number): void {
        super.keep(delta, flagKeys, nowSeconds);
        void redis.set(holdKey, 'replay');
      }
    }
    const target = testBatchTarget(redis, vk, history, { historyDays: 4, follow: { currentVersionKey: keys.currentVersion(), holdKey }, held: new HoldAfterFirstRun() });
    const records = kafkaRecords(events);
    const refused = await projectBatch(target, 'emails', 0, records, async () => undefined);
    expect(refused.result).toMatchObject({ applied: false, held: true });
    expect(refused).toMatchObject({ reached: 3, records: 3, applied: 2, duplicates: 0 });
    expect(refused.deadLetters.map((d) => d.offset)).toEqual([2]);
    expect((await readStoredOffsets(redis, vk.offsets('emails'))).get(0)).toBe(3);

    await redis.del(holdKey);
    const rest = await projectBatch({ ...target, held: new HeldFlags() }, 'emails', 0, records.slice(refused.reached), async () => undefined);
    expect(rest).toMatchObject({ result: { applied: true }, reached: 4, records: 1, applied: 1 });
    expect((await readStoredOffsets(redis, vk.offsets('emails'))).get(0)).toBe(4);
    // the late open's hash is the email's new life: one open, no send
    const email = await redis.hgetall(vk.email('org-1', 'e-1'));
    expect(email).toMatchObject({ opens: '1', uniqueOpens: '1' });
    expect(email.sentAt).toBeUndefined();
  });

  it('keeps the runs applied before one that fails (Redis lost between two scripts), counts them, and says so', async () => {
    const { redis, keys, vk, history, events } = twoRuns();
    const lost = new Error('Connection is closed.');
    // the second run's read of what the keys held fails, as a Redis gone between the two scripts
    class FailSecondRun extends HeldFlags {
      private runs = 0;
      override over(...args: Parameters<HeldFlags['over']>): ReturnType<HeldFlags['over']> {
        if (++this.runs === 2) throw lost;
        return super.over(...args);
      }
    }
    const target = testBatchTarget(redis, vk, history, { historyDays: 4, held: new FailSecondRun() });
    const records = kafkaRecords(events);
    const failed = await projectBatch(target, 'emails', 0, records, async () => undefined);
    expect(failed.failure).toBe(lost);
    expect(failed).toMatchObject({ reached: 3, records: 3, applied: 2, duplicates: 0 });
    expect(failed.deadLetters.map((d) => d.offset)).toEqual([2]);
    expect((await readStoredOffsets(redis, vk.offsets('emails'))).get(0)).toBe(3);
    // a failure in the first run is the batch's: nothing applied, thrown
    const firstFails = testBatchTarget(redis, keys.version(7), history, { historyDays: 4, held: Object.assign(new HeldFlags(), { over: () => { throw lost; } }) });
    await expect(projectBatch(firstFails, 'emails', 0, records, async () => undefined)).rejects.toBe(lost);

    const rest = await projectBatch({ ...target, held: new HeldFlags() }, 'emails', 0, records.slice(failed.reached), async () => undefined);
    expect(rest).toMatchObject({ result: { applied: true }, reached: 4, records: 1, applied: 1 });
    expect(rest.failure).toBeUndefined();
    expect(await redis.hgetall(vk.email('org-1', 'e-1'))).toMatchObject({ opens: '1', uniqueOpens: '1' });
  });
});
