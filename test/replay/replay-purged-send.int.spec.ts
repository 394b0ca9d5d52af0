/**
 * A send accepted after its org was purged and enabled again, but dated (the CRM's sentAt) before
 * the purge: the gate collects it (judged at its acceptance), and the live projector's email-meta
 * lookup does not answer it for later batches (a send at or before its org's purge is not brought
 * back, processors/projector/meta-loader.ts). A replay, in either write path, must do the same: an
 * open in a later batch counts as one of an unknown email, in no sender or template rollup.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keysFor } from '../../projections/keys.js';
import { diffSnapshots, type Snapshot } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import type { EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { onePartitionLog } from './support/one-partition-log.js';

const HOUR = 3_600_000;

describe('a replay of a send dated before its org\'s purge, accepted after the org was enabled again', () => {
  const orgId = `org-${randomUUID().slice(0, 8)}`;
  const t0 = Date.now() - 48 * HOUR;
  const purgedAt = t0 + 4 * HOUR;
  const control = [
    fixture('OrgEngagementEnabled', { orgId, occurredAt: t0 }),
    fixture('SubscriptionEnded', { orgId, occurredAt: t0 + HOUR }),
    fixture('OrgPurged', { orgId, occurredAt: purgedAt }),
    fixture('OrgEngagementEnabled', { orgId, occurredAt: purgedAt + HOUR }),
  ];
  const sent = fixture('EmailSent', { orgId, emailId: 'e-late', occurredAt: purgedAt - HOUR, acceptedAt: purgedAt + 2 * HOUR });
  const open: EmailEvent = fixture('EmailOpened', { orgId, emailId: 'e-late', contactId: 'c-1', occurredAt: purgedAt + 3 * HOUR });
  const log = onePartitionLog({}, () => [control, [sent], [open]]);

  it('counts a later open as one of an unknown email, in the fold and per batch', { timeout: 120_000 }, async () => {
    const { config, kafka, redis } = log;
    const k = keysFor(config.redisPrefix);
    const snapshots: Snapshot[] = [];
    for (const writePath of ['fold', 'per-batch'] as const) {
      const result = await runReplay({ config, kafka, redis }, { writePath, maxBytesPerPartition: 1 });
      expect(result).toMatchObject({ status: 'switched' });
      expect(result.counters.batches).toBeGreaterThanOrEqual(2);
      snapshots.push(await snapshotVersion(redis, k.version(result.version!)));
    }
    for (const snapshot of snapshots) {
      expect(snapshot.get(`email:${orgId}:e-late`)).toMatchObject({ opens: '1', uniqueOpens: '1' });
      for (const [key, fields] of snapshot) if (/^(senderd|templated):/.test(key)) expect(fields.opens, key).toBeUndefined();
    }
    expect(diffSnapshots(snapshots[0]!, snapshots[1]!)).toEqual([]);
  });
});
