/**
 * `engagement retention run --now` decides with a simulated clock but stamps a purge with the real
 * one, and `--dry-run` changes nothing. Found by a black-box check: a purge stamped at a future
 * `--now` kept every later enable of the org from taking effect until that date, and the option's
 * help promised "operators checking a plan" while it purged and deleted for real.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../core/kafka.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { keysFor } from '../../projections/keys.js';
import type { RetentionPlan } from '../../retention/run-retention.js';
import { produceEvents } from '../processors/support/produce.js';
import { fixture } from '../support/fixtures.js';
import { waitFor } from '../support/env.js';
import { blobsOf, landedOrgRun, redisKeysOf, retentionCli, retentionJson, type LandedOrgRun } from './support/purge-helpers.js';

const DAY = 86_400_000;

describe('retention run with a simulated clock', () => {
  let run: LandedOrgRun | undefined;
  afterAll(async () => run?.stop());

  it('--dry-run lists what is due and changes nothing; a real pass at a future --now stamps its purge with the real time, so the org can be enabled right after', { timeout: 120_000 }, async () => {
    run = await landedOrgRun();
    const { config, redis, orgId, keep, container } = run;
    const future = run.endedAt + 200 * DAY;
    const keysBefore = await redisKeysOf(redis, config, orgId);
    const blobsBefore = [...(await blobsOf(container, orgId)), ...(await blobsOf(container, keep))];

    const dry = retentionCli(config, future, true, ['--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as RetentionPlan;
    expect(plan.due.map((d) => d.orgId)).toEqual([orgId]);
    expect(plan.unfinished).toEqual([]);
    expect(plan.expiredBlobs).toBe(0); // BLOB_RETENTION_DAYS 3650 in these tests
    expect(await redisKeysOf(redis, config, orgId)).toEqual(keysBefore);
    expect([...(await blobsOf(container, orgId)), ...(await blobsOf(container, keep))].sort()).toEqual(blobsBefore.sort());
    expect(await redis.hlen(keysFor(config.redisPrefix).purges())).toBe(0);

    const before = Date.now();
    const report = retentionJson(config, future);
    expect(report.purged.map((p) => p.orgId)).toEqual([orgId]);
    const purgedAt = Date.parse(report.purged[0]!.purgedAt);
    expect(purgedAt).toBeGreaterThanOrEqual(before);
    expect(purgedAt).toBeLessThanOrEqual(Date.now());

    // An administrator enables the org again a moment later: it is enabled (a purge stamped at
    // `future` would have kept it off until then).
    await waitFor(() => Date.now() > purgedAt);
    await produceEvents(createKafka(config), config, [fixture('OrgEngagementEnabled', { orgId, occurredAt: Date.now() })]);
    const control = new ControlStore(redis, keysFor(config.redisPrefix));
    await waitFor(async () => (await control.readOrg(orgId)).enabled, { timeoutMs: 30_000, message: 'the org enabled after its purge' });
  });
});
