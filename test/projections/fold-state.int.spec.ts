import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { firstOccurrences } from '../../processors/projector/dedupe.js';
import { emailMetaKey, type EmailMeta } from '../../processors/projector/email-meta.js';
import { fold } from '../../processors/projector/fold.js';
import { zonesOf } from '../../processors/projector/recipient-zones.js';
import { dayOf, keysFor } from '../../projections/keys.js';
import { FoldState } from '../../projections/projector/fold-state.js';
import { writeDrained } from '../../projections/projector/write-state.js';
import { orgDigest } from '../../projections/purge-fence.js';
import { scanVersion, snapshotVersion } from '../../replay/snapshot.js';
import type { EmailEvent } from '../../schemas/events.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { RedisProjection } from '../processors/support/redis-projection.js';

/**
 * A fresh replay folds in memory and writes each key once (FoldState + writeDrained); the live
 * projector applies apply-batch.lua per batch. Given the same batches, both must leave the same
 * projection in Redis: every key, field, set member and expiry. Events older than the horizon
 * are in the mix (the script deletes the keys they create), and so are re-sent events.
 */
const BATCH = 40;
const DAY_MS = 86_400_000;

function workloadEvents(): EmailEvent[] {
  const w = generateWorkload({ orgs: 2, emailsPerOrg: 30, recipients: 4, seed: 14, privacySwitches: false, duplicateRate: 0.1 });
  // an email from beyond the 400-day horizon, opened then; and one of its opens re-sent
  const old = w.emails.filter((e) => e.emailId === w.emails[0]!.emailId).map((e) => ({ ...e, emailId: 'ancient', eventId: (e.eventId.startsWith('f') ? '0' : 'f') + e.eventId.slice(1), occurredAt: e.occurredAt - 500 * DAY_MS }));
  return [...old, ...w.emails, ...old.slice(-1)];
}

const redis = createRedis(testConfig());
afterAll(() => redis.quit());

describe('a fresh fold in memory equals the per-batch script', () => {
  it('same keys, fields, members and expiries, with several writes', { timeout: 60_000 }, async () => {
    const events = workloadEvents();
    const live = RedisProjection.open();
    for (let at = 0; at < events.length; at += BATCH) await live.deliver(...events.slice(at, at + BATCH));

    const config = testConfig();
    const keys = keysFor(config.redisPrefix).version(1);
    const writer = redis.duplicate();
    try {
      const state = new FoldState();
      const metas = new Map<string, EmailMeta>();
      let written = 0;
      let batches = 0;
      for (let at = 0; at < events.length; at += BATCH) {
        const batch = firstOccurrences(events.slice(at, at + BATCH).map((event) => ({ event })))
          .filter(({ event }) => !state.hasSeen(keys.seen(dayOf(event.occurredAt)), event.eventId))
          .map((r) => r.event);
        state.merge(fold(batch, metas, keys, { machineClickSeconds: 5, historyDays: 400 }), Math.floor(Date.now() / 1000));
        for (const e of batch) if (e.type === 'EmailSent' && !metas.has(emailMetaKey(e.orgId, e.emailId))) metas.set(emailMetaKey(e.orgId, e.emailId), { senderId: e.senderId, templateId: e.templateId, sentAt: e.occurredAt, zones: zonesOf(e) });
        const next = Math.min(at + BATCH, events.length);
        if (++batches % 3 === 0 || next === events.length) {
          const result = await writeDrained(writer, state.drain(), { offsetsKey: keys.offsets('emails'), expected: new Map([[0, written]]), start: new Map([[0, 0]]), next: new Map([[0, next]]) });
          expect(result).toMatchObject({ written: true });
          written = next;
        }
      }
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

      const [want, got] = await Promise.all([snapshotVersion(redis, live.keys), snapshotVersion(redis, keys)]);
      expect(got.size).toBeGreaterThan(100);
      expect([...got.keys()].filter((k) => k.includes('ancient'))).toEqual([]);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
      const expiries = async (k: typeof keys): Promise<Record<string, number>> => {
        const names = (await scanVersion(redis, k)).filter((n) => !n.includes(':seen:') && !n.includes(':offsets:'));
        const times = await Promise.all(names.map((n) => redis.call('EXPIRETIME', n) as Promise<number>));
        return Object.fromEntries(names.map((n, i) => [n.slice(k.base.length), times[i]!]));
      };
      expect(await expiries(keys)).toEqual(await expiries(live.keys));
    } finally {
      writer.disconnect();
      await deleteRedisPrefix(redis, config.redisPrefix);
    }
  });
});
