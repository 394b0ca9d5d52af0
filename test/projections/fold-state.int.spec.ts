import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { firstOccurrences } from '../../processors/projector/dedupe.js';
import { emailMetaKey, type EmailMeta } from '../../processors/projector/email-meta.js';
import { fold } from '../../processors/projector/fold.js';
import { zonesOf } from '../../processors/projector/recipient-zones.js';
import { dayOf, keysFor, type VersionKeys } from '../../projections/keys.js';
import { FoldState } from '../../projections/projector/fold-state.js';
import { writeDrained } from '../../projections/projector/write-state.js';
import { orgDigest } from '../../projections/purge-fence.js';
import { scanVersion, snapshotVersion } from '../../replay/snapshot.js';
import type { EmailEvent, EmailSent, LinkClicked } from '../../schemas/events.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { generateWorkload } from '../support/workload.js';
import { RedisProjection } from '../processors/support/redis-projection.js';

/**
 * A fresh replay folds in memory and writes each key once (FoldState + writeDrained); the live
 * projector applies apply-batch.lua per batch. Given the same batches, both must leave the same
 * projection in Redis: every key, field, set member and expiry. Events older than the horizon
 * are in the mix (the script deletes the keys they create), and so are re-sent events and click
 * bursts (click-rule.ts, read from Redis live and from memory here: its state strings, and the
 * flags it takes back, must match byte for byte,
 * whatever the batch cuts and whenever the fold writes what it holds).
 */
const BATCH = 40;
const DAY_MS = 86_400_000;
const FOLD = { machineClickSeconds: 5, historyDays: 400 };

function click(source: Pick<EmailSent, 'orgId' | 'emailId'>, contactId: string, linkId: string, at: number): LinkClicked {
  return fixture('LinkClicked', { eventId: randomUUID(), orgId: source.orgId, emailId: source.emailId, contactId, linkId, url: `https://example.com/${linkId}`, occurredAt: at });
}

/** Bursts of the generated emails' recipients, each spread over the log so batches and writes cut through them. */
function withBursts(events: EmailEvent[]): EmailEvent[] {
  const inserts: Array<[at: number, event: EmailEvent]> = [];
  const sends = events.flatMap((e, i) => (e.type === 'EmailSent' && e.follow && e.recipients.some((r) => r.followed) ? [[e, i] as const] : []));
  sends.slice(0, 16).forEach(([sent, i], n) => {
    const c = sent.recipients.find((r) => r.followed)!.contactId;
    const second = Math.floor(sent.occurredAt / 1000) * 1000 + 2 * 3_600_000;
    // several links in one second (the first one a double click), split over 1, 2 or 3 batches; then, for
    // every other one, a person
    const spread = [0, 17, 45][n % 3]!;
    inserts.push([i + 1, click(sent, c, 'l0', second + 10)]);
    inserts.push([i + 1, click(sent, c, 'l0', second + 20)]);
    inserts.push([i + 1 + spread, click(sent, c, 'l1', second + 400)]);
    if (n % 2 === 0) inserts.push([i + 1 + 2 * spread, click(sent, c, 'l0', second + 900)]);
    if (n % 2 === 1) inserts.push([i + 1 + 2 * spread + 50, click(sent, c, 'l1', second + 90_000)]);
  });
  inserts.sort((a, b) => a[0] - b[0]);
  const out: EmailEvent[] = [];
  let next = 0;
  events.forEach((event, i) => {
    while (next < inserts.length && inserts[next]![0] <= i) out.push(inserts[next++]![1]);
    out.push(event);
  });
  while (next < inserts.length) out.push(inserts[next++]![1]);
  return out;
}

function workloadEvents(): EmailEvent[] {
  const w = generateWorkload({ orgs: 2, emailsPerOrg: 30, recipients: 4, seed: 14, privacySwitches: false, duplicateRate: 0.1 });
  // an email from beyond the 400-day horizon, opened then; and one of its opens re-sent
  const old = w.emails.filter((e) => e.emailId === w.emails[0]!.emailId).map((e) => ({ ...e, emailId: 'ancient', eventId: (e.eventId.startsWith('f') ? '0' : 'f') + e.eventId.slice(1), occurredAt: e.occurredAt - 500 * DAY_MS }));
  return [...old, ...withBursts(w.emails), ...old.slice(-1)];
}

const cut = (events: EmailEvent[], size: number): EmailEvent[][] => Array.from({ length: Math.ceil(events.length / size) }, (_, i) => events.slice(i * size, (i + 1) * size));

/**
 * Folds `batches` in memory as a fresh replay does (batch de-duplication, the seen eventIds, the
 * EmailSent meta of earlier batches) and writes what it holds after every batch `writeAfter`
 * names and after the last one. Returns the state and the offset written.
 */
async function foldInMemory(writer: Redis, keys: VersionKeys, batches: EmailEvent[][], writeAfter: (batch: number) => boolean): Promise<{ state: FoldState; written: number }> {
  const state = new FoldState();
  const metas = new Map<string, EmailMeta>();
  let written = 0;
  let next = 0;
  for (const [i, events] of batches.entries()) {
    const batch = firstOccurrences(events.map((event) => ({ event })))
      .filter(({ event }) => !state.hasSeen(keys.seen(dayOf(event.occurredAt)), event.eventId))
      .map((r) => r.event);
    state.merge(fold(batch, metas, keys, FOLD), Math.floor(Date.now() / 1000));
    for (const e of batch) if (e.type === 'EmailSent' && !metas.has(emailMetaKey(e.orgId, e.emailId))) metas.set(emailMetaKey(e.orgId, e.emailId), { senderId: e.senderId, templateId: e.templateId, sentAt: e.occurredAt, zones: zonesOf(e) });
    next += events.length;
    if (writeAfter(i) || i === batches.length - 1) {
      const result = await writeDrained(writer, state.drain(), { offsetsKey: keys.offsets('emails'), expected: new Map([[0, written]]), start: new Map([[0, 0]]), next: new Map([[0, next]]) });
      expect(result).toMatchObject({ written: true });
      written = next;
    }
  }
  return { state, written };
}

async function expectSameProjection(redis: Redis, got: VersionKeys, want: VersionKeys): Promise<void> {
  const [a, b] = await Promise.all([snapshotVersion(redis, want), snapshotVersion(redis, got)]);
  expect(Object.fromEntries(b)).toEqual(Object.fromEntries(a));
  const expiries = async (k: VersionKeys): Promise<Record<string, number>> => {
    const names = (await scanVersion(redis, k)).filter((n) => !n.includes(':seen:') && !n.includes(':offsets:'));
    const times = await Promise.all(names.map((n) => redis.call('EXPIRETIME', n) as Promise<number>));
    return Object.fromEntries(names.map((n, i) => [n.slice(k.base.length), times[i]!]));
  };
  expect(await expiries(got)).toEqual(await expiries(want));
}

const redis = createRedis(testConfig());
afterAll(() => redis.quit());

describe('a fresh fold in memory equals the per-batch script', () => {
  it('same keys, fields, members and expiries, with several writes', { timeout: 60_000 }, async () => {
    const events = workloadEvents();
    const batches = cut(events, BATCH);
    const live = RedisProjection.open();
    for (const batch of batches) await live.deliver(...batch);

    const config = testConfig();
    const keys = keysFor(config.redisPrefix).version(1);
    const writer = redis.duplicate();
    try {
      const { state } = await foldInMemory(writer, keys, batches, (i) => (i + 1) % 3 === 0);
      // the two-sided fence: a write that does not start where the stored offset is writes nothing
      const stale = await writeDrained(writer, state.drain(), { offsetsKey: keys.offsets('emails'), expected: new Map([[0, 0]]), start: new Map([[0, 0]]), next: new Map([[0, 1]]) });
      expect(stale).toMatchObject({ written: false, reason: 'offsets', stored: events.length });
      // the purge fence: an org purged after the purge its events were gated with refuses the write
      const fence = `${config.redisPrefix}:purge:fence`;
      const orgId = events[0]!.orgId;
      await redis.hset(fence, orgDigest(orgId), '5');
      const at = { offsetsKey: keys.offsets('emails'), expected: new Map([[0, events.length]]), start: new Map([[0, 0]]), next: new Map([[0, events.length]]) };
      expect(await writeDrained(writer, state.drain(), { ...at, fence: { key: fence, orgs: new Map([[orgId, -1]]) } })).toEqual({ written: false, reason: 'purged', orgId });
      expect(await writeDrained(writer, state.drain(), { ...at, fence: { key: fence, orgs: new Map([[orgId, 5]]) } })).toMatchObject({ written: true });

      const got = await snapshotVersion(redis, keys);
      expect(got.size).toBeGreaterThan(100);
      expect([...got.keys()].filter((k) => k.includes('ancient'))).toEqual([]);
      // the bursts were judged: machine clicks taken back from a person's, burst states in the flags hashes
      const burstStates = [...got.values()].flatMap((hash) => Object.entries(hash).filter(([f, v]) => f.startsWith('k:') && v.includes('\nb\n')));
      expect(burstStates.length).toBeGreaterThanOrEqual(4);
      await expectSameProjection(redis, keys, live.keys);
    } finally {
      writer.disconnect();
      await deleteRedisPrefix(redis, config.redisPrefix);
    }
  });

  it('judges click bursts as the script does, across batches and writes, with the flags it takes back', { timeout: 60_000 }, async () => {
    const SENT_AT = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS + 9 * 3_600_000;
    const B = SENT_AT + 3_600_000; // whole seconds
    const sent = fixture('EmailSent', { occurredAt: SENT_AT, acceptedAt: SENT_AT });
    const e1 = { orgId: 'org-1', emailId: 'e-1' };
    const unsent = { orgId: 'org-1', emailId: 'e-unsent' }; // its keys are created by its clicks alone
    const ancient = { orgId: 'org-1', emailId: 'e-ancient' }; // beyond the horizon: the script deletes what it creates
    const OLD = B - 500 * DAY_MS;
    const batches: EmailEvent[][] = [
      /* 0 */ [sent, click(e1, 'c-1', 'l0', B + 10), click(ancient, 'c-1', 'l0', OLD + 10)],
      // (write) a double click: the state of a key already written
      /* 1 */ [click(e1, 'c-1', 'l0', B + 300), click(ancient, 'c-1', 'l1', OLD + 20)],
      // (write) the burst shows: HDEL of flags written by earlier writes; a third link is a machine's outright
      /* 2 */ [click(e1, 'c-1', 'l1', B + 400), click(e1, 'c-1', 'l2', B + 500), click(unsent, 'c-1', 'l0', B + 10)],
      // a person again, in the same write: the flags just deleted are set again
      /* 3 */ [click(e1, 'c-1', 'l0', B + 120_000)],
      // (write) a burst within one batch, on flags not written yet; another split over a batch boundary
      /* 4 */ [click(e1, 'c-2', 'l0', B + 2_100), click(e1, 'c-2', 'l1', B + 2_200), click(e1, 'c-2', 'l0', B + 2_300), click(e1, 'c-3', 'l0', B + 3_100), click(unsent, 'c-1', 'l1', B + 900)],
      /* 5 */ [click(e1, 'c-3', 'l1', B + 3_900), click(e1, 'c-3', 'l1', B + 5_000)],
      // (write) a person after the bursts, in a later write than the one that deleted the flags
      /* 6 */ [click(e1, 'c-2', 'l1', B + 60_000), click(e1, 'c-1', 'l1', B + 180_000), click(unsent, 'c-1', 'l0', B + 60_000)],
    ];
    const live = RedisProjection.open();
    for (const batch of batches) await live.deliver(...batch);
    const flags = await live.get((k) => k.emailRecipients('org-1', 'e-1'));
    expect(flags['k:c-2']).toBe(`${Math.floor((B + 60_000) / 1000)}\nh\n1\nl1\n1\n1\n`);

    for (const writes of [new Set([0, 1, 4, 6]), new Set([0, 1, 2, 3, 4, 5, 6]), new Set<number>()]) {
      const config = testConfig();
      const keys = keysFor(config.redisPrefix).version(1);
      const writer = redis.duplicate();
      try {
        await foldInMemory(writer, keys, batches, (i) => writes.has(i));
        await expectSameProjection(redis, keys, live.keys);
      } finally {
        writer.disconnect();
        await deleteRedisPrefix(redis, config.redisPrefix);
      }
    }
  });
});
