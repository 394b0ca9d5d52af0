import { describe, expect, it } from 'vitest';
import { keysFor } from '../../projections/keys.js';
import { diffSnapshots } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import type { EmailEvent, EmailSent } from '../../schemas/events.js';
import { generateWorkload } from '../support/workload.js';
import { onePartitionLog } from './support/one-partition-log.js';

const HOUR = 3_600_000;
const HISTORY_DAYS = 4;

/**
 * A replay whose in-memory fold reaches its memory budget goes on per batch: what it writes must
 * not depend on where that happened. The edge: emails sent before the horizon (their hashes are
 * gone, in the fold and in Redis) whose interactions still count in the day rollups.
 */
describe('a replay that spills its fold between an email past the horizon and its interactions', () => {
  // Sends 100 to 68 hours ago: those of the first 4 hours are past the 4-day horizon. Their
  // interactions come 36 hours later, on days whose rollups are all still kept.
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 60, recipients: 3, seed: 41, startAt: Date.now() - 100 * HOUR, privacySwitches: false });
  // without the emails that cross the horizon within minutes of now: one could cross it between the two replays
  const near = new Set(
    workload.emails.filter((e) => e.type === 'EmailSent' && Math.abs(e.occurredAt + HISTORY_DAYS * 24 * HOUR - Date.now()) < 15 * 60_000).map((e) => e.emailId),
  );
  const sends = workload.emails.filter((e): e is EmailSent => e.type === 'EmailSent' && !near.has(e.emailId));
  // Repeated opens and clicks included: the first-time flags of an email past the horizon are held
  // for the build (held-flags.ts), so a second open counts once wherever batches end, spill or no spill.
  const interactions: EmailEvent[] = workload.emails
    .filter((e) => e.type !== 'EmailSent' && !near.has(e.emailId))
    .map((e) => ({ ...e, occurredAt: e.occurredAt + 36 * HOUR }));
  const pastHorizon = sends.filter((s) => s.occurredAt + HISTORY_DAYS * 24 * HOUR <= Date.now());

  // one partition: its first fetch is the sends' record batch, folded before the spill
  const log = onePartitionLog({ HISTORY_DAYS: String(HISTORY_DAYS) }, () => [workload.control, sends, interactions]);

  it('writes exactly what the fold alone writes', { timeout: 120_000 }, async () => {
    expect(pastHorizon.length).toBeGreaterThan(0);
    const { config, kafka, redis } = log;
    const k = keysFor(config.redisPrefix);
    const folded = await runReplay({ config, kafka, redis });
    expect(folded).toMatchObject({ status: 'switched', version: 2 });
    expect(folded.counters.foldSpilledAt).toBeNull();
    const reference = await snapshotVersion(redis, k.version(2));
    // the scenario holds: the emails past the horizon left no hash, their senders' day rollups count their opens
    const keys = [...reference.keys()];
    for (const sent of pastHorizon) expect(keys.filter((key) => key.includes(sent.emailId))).toEqual([]);
    expect(keys.some((key) => key.startsWith('senderd:'))).toBe(true);

    const spilled = await runReplay({ config, kafka, redis }, { maxBytesPerPartition: 1, foldBudget: { maxBytes: 0, heapUsed: () => 1 } });
    expect(spilled).toMatchObject({ status: 'switched', version: 3 });
    // every send folded in memory, every interaction per batch
    expect(spilled.counters.foldSpilledAt).toBe(sends.length);
    expect(spilled.counters.records).toBe(sends.length + interactions.length);
    expect(diffSnapshots(reference, await snapshotVersion(redis, k.version(3)))).toEqual([]);
  });
});
