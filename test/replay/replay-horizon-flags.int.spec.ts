import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keysFor } from '../../projections/keys.js';
import { diffSnapshots, type Snapshot } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import type { EmailEvent, EmailSent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { generateWorkload } from '../support/workload.js';
import { onePartitionLog } from './support/one-partition-log.js';

const HOUR = 3_600_000;
const HISTORY_DAYS = 4;

/**
 * An email sent just before the horizon (its hashes are gone at replay time, its EmailSent is
 * still in the log) whose recipients opened and clicked it twice, on days whose rollups are still
 * kept. When those interactions happened the email was days old, its first-time flags were kept,
 * and the live projection counted each recipient once. A replay must do the same wherever its
 * batches end: it holds such an email's flags in memory for the length of the build. Interactions
 * after the email's own horizon met, live, an email whose hashes had expired and whose send was no
 * longer known: they count as first-time again, as interactions of an unknown email.
 */
describe('a replay of interactions with emails past the horizon', () => {
  // Sends 100 to 97 hours ago: past the 4-day horizon, yet in the log.
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 40, recipients: 3, seed: 43, startAt: Date.now() - 100 * HOUR, periodMs: 7 * HOUR, privacySwitches: false });
  const sends = workload.emails.filter((e): e is EmailSent => e.type === 'EmailSent' && e.follow && e.occurredAt + HISTORY_DAYS * 24 * HOUR < Date.now() - 30 * 60_000);
  const client = { userAgent: 'Mozilla/5.0', ipHash: 'ip-h', method: 'GET', machineReason: null };
  // one open and one click of the same link per followed recipient, `hoursAfter` the send
  const round = (hoursAfter: number): EmailEvent[] =>
    sends.flatMap((send) =>
      send.recipients
        .filter((r) => r.followed)
        .flatMap((r): EmailEvent[] => {
          const base = { orgId: send.orgId, emailId: send.emailId, contactId: r.contactId, ...client };
          const at = send.occurredAt + hoursAfter * HOUR;
          return [
            { type: 'EmailOpened', eventId: randomUUID(), occurredAt: at, ...base },
            { type: 'LinkClicked', eventId: randomUUID(), occurredAt: at + 1_000, linkId: 'l0', url: 'https://example.com/a', ...base },
          ];
        }),
    );
  const first = round(36);
  const second = round(37);
  // After each email's own horizon (send + 96 h, still in the past): the live run met an email whose
  // hashes had expired and whose send it no longer knew, so these count as first-time again, once
  // for both rounds (the flags hash they bring back lives from them), and in no sender rollup.
  const third = round(96.2);
  const fourth = round(96.3);

  const log = onePartitionLog({ HISTORY_DAYS: String(HISTORY_DAYS) }, () => [workload.control, sends, first, second, third, fourth]);

  const sumOf = (snapshot: Snapshot, prefix: string, field: string): number => {
    let sum = 0;
    for (const [key, fields] of snapshot) if (key.startsWith(prefix)) sum += Number(fields[field] ?? 0);
    return sum;
  };

  it('counts each recipient once, in the fold and per batch, whatever the batches', { timeout: 180_000 }, async () => {
    const { config, kafka, redis } = log;
    expect(sends.length).toBeGreaterThan(5);
    const k = keysFor(config.redisPrefix);
    const recipients = first.length / 2;
    const snapshots: Snapshot[] = [];
    // a fold that spills after its second batch: the first opens and clicks folded in memory, the second per batch
    let budgetChecks = 0;
    const spillAfterSecondBatch = { maxBytes: 0, heapUsed: () => (++budgetChecks >= 2 ? 1 : 0) };
    // The first runs read each produce as its own batch; the last two read the whole log in one
    // fetch, as a replay of a quiet partition may: each email's send, its rounds before its horizon
    // and those after it in one batch, which the fold must not put into one set of hashes.
    const ALL_AT_ONCE = 16 << 20;
    for (const [i, request] of [
      { writePath: 'fold' as const, maxBytesPerPartition: 1 },
      { writePath: 'per-batch' as const, maxBytesPerPartition: 1 },
      { writePath: 'fold' as const, maxBytesPerPartition: 1, foldBudget: spillAfterSecondBatch },
      { writePath: 'fold' as const, maxBytesPerPartition: ALL_AT_ONCE },
      { writePath: 'per-batch' as const, maxBytesPerPartition: ALL_AT_ONCE },
    ].entries()) {
      const result = await runReplay({ config, kafka, redis }, request);
      expect(result).toMatchObject({ status: 'switched', version: i + 2 });
      if (request.maxBytesPerPartition === ALL_AT_ONCE) expect(result.counters.batches).toBe(1);
      else expect(result.counters.batches).toBeGreaterThanOrEqual(5);
      if (request.foldBudget) expect(result.counters.foldSpilledAt).toBe(sends.length + first.length);
      snapshots.push(await snapshotVersion(redis, k.version(i + 2)));
    }
    for (const snapshot of snapshots) {
      // the scenario holds: the emails' hashes are those the late rounds brought back, without their send
      for (const send of sends) {
        const followed = send.recipients.filter((r) => r.followed).length;
        if (followed > 0) expect(snapshot.get(`email:${send.orgId}:${send.emailId}`)).toMatchObject({ opens: String(2 * followed), uniqueOpens: String(followed), clicks: String(2 * followed) });
        expect(snapshot.get(`email:${send.orgId}:${send.emailId}`)?.sentAt).toBeUndefined();
      }
      expect(sumOf(snapshot, 'orgd:', 'opens')).toBe(4 * recipients);
      expect(sumOf(snapshot, 'orgd:', 'uniqueOpens')).toBe(2 * recipients);
      expect(sumOf(snapshot, 'orgd:', 'clicks')).toBe(4 * recipients);
      expect(sumOf(snapshot, 'orgd:', 'uniqueClicks')).toBe(2 * recipients);
      expect(sumOf(snapshot, 'senderd:', 'opens')).toBe(2 * recipients);
      expect(sumOf(snapshot, 'contactd:', 'opened')).toBe(2 * recipients);
    }
    // The KPI keys are the same. (Not compared: which dropped keys the org index lists, and a
    // contact hash dropped with its sends' batch, whose time zone a later batch does not bring back.)
    const kpis = (snapshot: Snapshot): Snapshot => new Map([...snapshot].filter(([key]) => /^(email|emailr|orgd|senderd|templated|contactd|orgm|senderm|templatem|contactm|contacth):/.test(key)));
    expect(kpis(snapshots[0]!).size).toBeGreaterThan(10);
    for (const other of snapshots.slice(1)) expect(diffSnapshots(kpis(snapshots[0]!), kpis(other))).toEqual([]);
  });
});

/**
 * An email whose send the log no longer holds lives HISTORY_DAYS from its newest event: two opens
 * more than that apart met, live, a hash that had expired in between, so the second started it
 * again. A replay that reads both in one batch must not fold them into one hash.
 */
describe('a replay of an email without its send, whose opens are more than HISTORY_DAYS apart', () => {
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 1, recipients: 1, seed: 7, startAt: Date.now() - 100 * HOUR, periodMs: HOUR, privacySwitches: false });
  const orgId = workload.control[0]!.orgId;
  const client = { userAgent: 'Mozilla/5.0', ipHash: 'ip-h', method: 'GET', machineReason: null };
  const opens = (emailId: string): EmailEvent[] =>
    [100, 1].map((hoursAgo): EmailEvent => ({ type: 'EmailOpened', eventId: randomUUID(), occurredAt: Date.now() - hoursAgo * HOUR, orgId, emailId, contactId: 'c-1', ...client }));
  const emails = ['gone-1', 'gone-2', 'gone-3'];

  const log = onePartitionLog({ HISTORY_DAYS: String(HISTORY_DAYS) }, () => [workload.control, ...emails.map(opens)]);

  it('counts the second open in a hash of its own, whatever the batches', { timeout: 120_000 }, async () => {
    const { config, kafka, redis } = log;
    const k = keysFor(config.redisPrefix);
    const snapshots: Snapshot[] = [];
    for (const [i, maxBytesPerPartition] of [1, 16 << 20].entries()) {
      for (const writePath of ['fold', 'per-batch'] as const) {
        const result = await runReplay({ config, kafka, redis }, { writePath, maxBytesPerPartition });
        expect(result).toMatchObject({ status: 'switched' });
        expect(result.counters.batches === 1).toBe(i === 1);
        snapshots.push(await snapshotVersion(redis, k.version(result.version!)));
      }
    }
    for (const snapshot of snapshots) {
      for (const emailId of emails) expect(snapshot.get(`email:${orgId}:${emailId}`)).toMatchObject({ opens: '1', uniqueOpens: '1' });
    }
    const kpis = (snapshot: Snapshot): Snapshot => new Map([...snapshot].filter(([key]) => /^(email|emailr|orgd|contactd|orgm|contactm|contacth):/.test(key)));
    for (const other of snapshots.slice(1)) expect(diffSnapshots(kpis(snapshots[0]!), kpis(other))).toEqual([]);
  });
});

/**
 * An email's hash that a moving expiry kept alive: opens of an email whose send was not known yet
 * (reported late) or not at all live HISTORY_DAYS from the newest, so a second open less than that
 * after the first found, live, the hash of the first (even past its send's horizon: the send's own
 * expiry never shortens one the hash has). At replay time the first open's expiry is past; a replay
 * must still count both opens in one hash, the recipient once, wherever its batches end.
 */
describe('a replay of opens a moving expiry kept in one hash past the first one\'s horizon', () => {
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 1, recipients: 1, seed: 11, startAt: Date.now() - 200 * HOUR, periodMs: HOUR, privacySwitches: false });
  const orgId = workload.control[0]!.orgId;
  const client = { userAgent: 'Mozilla/5.0', ipHash: 'ip-h', method: 'GET', machineReason: null };
  const DAY = 24 * HOUR;
  const sentAt = Date.now() - 7 * DAY;
  const open = (emailId: string, at: number): EmailEvent => ({ type: 'EmailOpened', eventId: randomUUID(), occurredAt: at, orgId, emailId, contactId: 'c-1', ...client });
  const lateSend = fixture('EmailSent', { occurredAt: sentAt, acceptedAt: sentAt, orgId, emailId: 'late-send', recipients: [{ contactId: 'c-1', contactType: 'contact', recipientType: 'contact', followed: true, timeZone: null }] });
  // sent 7 days ago, reported after its first open (5 days ago); a second open 2 days ago, past the
  // send's 4-day horizon but before the first open's (1 day ago)
  const late = [open('late-send', sentAt + 2 * DAY), lateSend, open('late-send', sentAt + 5 * DAY)];
  // never sent (as far as the log knows): opens 5 and 2 days ago
  const unknown = [open('no-send', sentAt + 2 * DAY), open('no-send', sentAt + 5 * DAY)];

  const log = onePartitionLog({ HISTORY_DAYS: String(HISTORY_DAYS) }, () => [workload.control, late, unknown]);

  // Each email's events are one produce, so one fetch even at 1 byte; not the per-batch script at 1
  // byte, which applies each record alone: a batch boundary between the opens (in either write path)
  // writes the first one's expiry, already past, and deletes the hash before the second (README, "Replay", limits).
  it('counts both opens in one hash and the recipient once: in the fold whatever the batches, per batch when they are one', { timeout: 120_000 }, async () => {
    const { config, kafka, redis } = log;
    const k = keysFor(config.redisPrefix);
    const snapshots: Snapshot[] = [];
    for (const [writePath, maxBytesPerPartition] of [['fold', 1], ['fold', 16 << 20], ['per-batch', 16 << 20]] as const) {
      const result = await runReplay({ config, kafka, redis }, { writePath, maxBytesPerPartition });
      expect(result).toMatchObject({ status: 'switched' });
      expect(result.counters.batches === 1).toBe(maxBytesPerPartition > 1);
      snapshots.push(await snapshotVersion(redis, k.version(result.version!)));
    }
    for (const [i, snapshot] of snapshots.entries()) {
      for (const emailId of ['late-send', 'no-send']) expect(snapshot.get(`email:${orgId}:${emailId}`), `replay ${i}, ${emailId}`).toMatchObject({ opens: '2', uniqueOpens: '1' });
      expect(snapshot.get(`email:${orgId}:late-send`)?.sentAt, `replay ${i}`).toBe(String(sentAt));
    }
  });
});
