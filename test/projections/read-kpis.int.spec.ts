import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngagementError } from '../../core/errors.js';
import { createRedis } from '../../core/redis.js';
import { CONTACT_DAY_FIELDS, hourMonths, keysFor, PACKED, packedDayOf, ROLLUP_FIELDS } from '../../projections/keys.js';
import { queryContactKpis } from '../../projections/queries/contact-kpis.js';
import { queryRecipientHeatmap } from '../../projections/queries/recipient-heatmap.js';
import { openQuery, readLive } from '../../projections/queries/context.js';
import { bucketOf, lastDays } from '../../projections/queries/days.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryRollupKpis } from '../../projections/queries/rollup-kpis.js';
import { emailKpisResponse, recipientKpisResponse, rollupKpisResponse } from '../../api/openapi/response-schemas.js';
import { schemaSerializer } from '../../api/openapi/response-serialization.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';

/**
 * KPI reads are one script each (read-kpis.lua): the live version, the org's control state and
 * the keys, atomically. A reader whose remembered version is stale (a replay switched it) reads
 * the new one, never a mix; windows are summed in Redis.
 */
const config = testConfig();
const redis = createRedis(config);
const keys = keysFor(config.redisPrefix);
const NOW = Date.UTC(2026, 10, 20, 12);
const days = lastDays(30, NOW);

beforeAll(async () => {
  await redis.hset(keys.controlOrg('org-1'), { enabled: '1', changedAt: '1' });
  await redis.set(keys.controlSynced(), '1');
  for (const v of [1, 2]) {
    const k = keys.version(v);
    await redis.hset(k.email('org-1', 'e-1'), { opens: String(10 * v), followedRecipients: '4', uniqueOpens: '2' });
    await redis.hset(k.contact('org-1', 'c-1'), { tz: 'Europe/Paris' });
    // three days inside the window, one just outside it
    await redis.hset(k.contactDay('org-1', 'c-1', bucketOf(days[0]!)), { received: String(v), opened: '1' });
    await redis.hset(k.contactDay('org-1', 'c-1', bucketOf(days[15]!)), { received: '2', clicked: '1' });
    await redis.hset(k.contactDay('org-1', 'c-1', bucketOf(days[29]!)), { received: '3', replied: '1' });
    await redis.hset(k.contactDay('org-1', 'c-1', '20251020'), { received: '100' });
    await redis.hset(k.orgDay('org-1', bucketOf(days[29]!)), { emails: String(v), opens: '7' });
  }
  // every field of each read model, for the serialisation check
  const v1 = keys.version(1);
  await redis.hset(v1.email('org-1', 'e-full'), {
    senderId: 's-1', templateId: 't-1', subject: 'Hello "you", café ☕', sentAt: String(NOW - 86_400_000), recipients: '3', followedRecipients: '2',
    opens: '5', uniqueOpens: '2', firstOpenedAt: String(NOW - 3_600_000), lastOpenedAt: String(NOW), clicks: '4', uniqueClicks: '1',
    attachmentViews: '1', replies: '2', uniqueReplies: '1', machineOpens: '1', machineClicks: '1',
    'lc:l-10': '3', 'lu:l-10': '1', 'url:l-10': 'https://example.test/a?b=1', 'lc:l-2': '1', 'lu:l-2': '1',
  });
  await redis.hset(v1.contact('org-1', 'c-full'), { tz: 'Europe/Paris', lastOpenedAt: String(NOW), 'hl:10': '4', 'hl:33': '3', 'hl:90': '1' });
  await redis.hset(v1.contactDay('org-1', 'c-full', bucketOf(days[29]!)), { received: '4', opened: '2', clicked: '1', replied: '1' });
  for (const [i, day] of days.entries()) {
    const counters = { emails: i + 1, recipients: 3 * i, followedRecipients: 2 * i, opens: 7, uniqueOpens: i, clicks: 2, uniqueClicks: 1, replies: 1, attachmentViews: 1, machineOpens: 1, machineClicks: 1 };
    await redis.hset(v1.orgDay('org-3', bucketOf(day)), counters);
    await redis.hset(v1.senderDay('org-3', 's-1', bucketOf(day)), counters);
  }
});

afterAll(async () => {
  await deleteRedisPrefix(redis, config.redisPrefix);
  await redis.quit();
});

describe('KPI reads in one script', () => {
  it('read the live version, and follow a switch with a stale remembered version', async () => {
    expect((await queryEmailKpis(redis, keys, 'org-1', 'e-1')).opens).toBe(10);
    await redis.set(keys.currentVersion(), '2');
    expect((await queryEmailKpis(redis, keys, 'org-1', 'e-1')).opens).toBe(20);
    const org = await queryRollupKpis(redis, keys, 'org-1', { kind: 'org' }, { from: days[0], to: days[29] }, NOW, config.historyDays);
    expect(org.emails).toBe(2);
    expect(org.daily[29]).toMatchObject({ date: days[29], emails: 2, opens: 7 });
    expect(org.daily[0]).toMatchObject({ emails: 0, opens: 0 });
    expect((await openQuery(redis, keys, 'org-1')).keys.v).toBe(2);
    await redis.set(keys.currentVersion(), '1');
    expect((await queryEmailKpis(redis, keys, 'org-1', 'e-1')).opens).toBe(10);
    expect((await openQuery(redis, keys, 'org-1')).org.enabled).toBe(true);
  });

  it('sum a contact window inside Redis, days outside it left out', async () => {
    const kpis = await queryContactKpis(redis, keys, 'org-1', 'c-1', 30, NOW);
    expect(kpis).toMatchObject({ emailsReceived: 6, emailsOpened: 1, emailsClicked: 1, emailsReplied: 1, timeZone: 'Europe/Paris', days: 30 });
    const short = await queryContactKpis(redis, keys, 'org-1', 'c-1', 1, NOW);
    expect(short).toMatchObject({ emailsReceived: 3, emailsReplied: 1, emailsOpened: 0 });
  });

  it('serialise every KPI read model from its schema exactly as JSON.stringify writes it (a field the schema lacks fails here)', async () => {
    await redis.hset(keys.controlOrg('org-3'), { enabled: '1', changedAt: '1' });
    const same = (schema: typeof emailKpisResponse, doc: unknown): void => expect(schemaSerializer(schema)(doc)).toBe(JSON.stringify(doc));
    const email = await queryEmailKpis(redis, keys, 'org-1', 'e-full');
    expect(email.links).toHaveLength(2);
    expect(email.subject).toBe('Hello "you", café ☕');
    same(emailKpisResponse, email);
    const contact = await queryContactKpis(redis, keys, 'org-1', 'c-full', 30, NOW);
    expect(contact.bestTimeToEmail).not.toBeNull();
    same(recipientKpisResponse, contact);
    same(recipientKpisResponse, await queryContactKpis(redis, keys, 'org-1', 'c-1', 30, NOW));
    const range = { from: days[0], to: days[29] };
    same(rollupKpisResponse, await queryRollupKpis(redis, keys, 'org-3', { kind: 'org' }, range, NOW, config.historyDays));
    same(rollupKpisResponse, await queryRollupKpis(redis, keys, 'org-3', { kind: 'sender', senderId: 's-1' }, range, NOW, config.historyDays));
    same(rollupKpisResponse, await queryRollupKpis(redis, keys, 'org-3', { kind: 'template', templateId: 'none' }, range, NOW, config.historyDays));
  });

  it('read a rollup from its month hashes when the version packs them, else from its day hashes: the same answer', async () => {
    const v1 = keys.version(1);
    await redis.hset(keys.controlOrg('org-4'), { enabled: '1', changedAt: '1' });
    for (const [i, day] of days.entries()) {
      if (i % 3 === 1) continue; // days with nothing
      const counters: Record<string, number> = { emails: i + 1, opens: 2 * i, uniqueOpens: i, clicks: i % 4, machineClicks: -1 };
      await redis.hset(v1.orgDay('org-4', bucketOf(day)), counters);
      const { month, field } = packedDayOf(bucketOf(day));
      await redis.hset(v1.orgMonth('org-4', month), field, ROLLUP_FIELDS.map((f) => counters[f] ?? '').join(','));
    }
    const range = { from: days[0], to: days[29] };
    expect(new Set(days.map((d) => packedDayOf(bucketOf(d)).month)).size).toBe(2); // the window spans two month hashes
    const fromDays = await queryRollupKpis(redis, keys, 'org-4', { kind: 'org' }, range, NOW, config.historyDays);
    expect(fromDays.daily[29]).toMatchObject({ emails: 30, opens: 58, machineClicks: -1 });
    await redis.set(v1.packedRollups(), '1');
    try {
      expect(await queryRollupKpis(redis, keys, 'org-4', { kind: 'org' }, range, NOW, config.historyDays)).toEqual(fromDays);
      // with the marker the month hashes are what is read: a day only they hold shows
      const { month, field } = packedDayOf(bucketOf(days[1]!));
      await redis.hset(v1.orgMonth('org-4', month), field, ROLLUP_FIELDS.map((f) => (f === 'emails' ? '5' : '')).join(','));
      const packed = await queryRollupKpis(redis, keys, 'org-4', { kind: 'org' }, range, NOW, config.historyDays);
      expect(packed.daily[1]).toMatchObject({ date: days[1], emails: 5, opens: 0 });
      expect(packed.emails).toBe(fromDays.emails + 5);
      // a month hash keeps days its day hashes no longer have: past the horizon they read as empty
      const recent = await queryRollupKpis(redis, keys, 'org-4', { kind: 'org' }, range, NOW, 10);
      expect(recent.daily.slice(0, 20).every((d) => d.emails === 0 && d.opens === 0)).toBe(true);
      expect(recent.daily.slice(20)).toEqual(packed.daily.slice(20));
    } finally {
      await redis.del(v1.packedRollups());
    }
  });

  it("read a contact's window from its month hashes at packed level 2, else (level 1, none) from its day hashes: the same answer", async () => {
    const v1 = keys.version(1);
    await redis.hset(keys.controlOrg('org-5'), { enabled: '1', changedAt: '1' });
    await redis.hset(v1.contact('org-5', 'c-5'), { tz: 'Europe/Paris' });
    for (const [i, day] of days.entries()) {
      if (i % 4 === 1) continue; // days with nothing
      const counters: Record<string, number> = { received: i + 1, opened: i % 3, clicked: i % 2 };
      if (i === 6) counters.clicked = 0; // a click a burst took back: the day is still there
      await redis.hset(v1.contactDay('org-5', 'c-5', bucketOf(day)), counters);
      const { month, field } = packedDayOf(bucketOf(day));
      await redis.hset(v1.contactMonth('org-5', 'c-5', month), field, CONTACT_DAY_FIELDS.map((f) => counters[f] ?? '').join(','));
    }
    const fromDays = await queryContactKpis(redis, keys, 'org-5', 'c-5', 30, NOW);
    expect(fromDays).toMatchObject({ emailsReceived: days.reduce((sum, _, i) => sum + (i % 4 === 1 ? 0 : i + 1), 0), timeZone: 'Europe/Paris' });
    try {
      await redis.set(v1.packedRollups(), '1'); // packed before contact months: still the day hashes
      const { month, field } = packedDayOf(bucketOf(days[1]!));
      await redis.hset(v1.contactMonth('org-5', 'c-5', month), field, '5,,,');
      expect(await queryContactKpis(redis, keys, 'org-5', 'c-5', 30, NOW)).toEqual(fromDays);
      await redis.set(v1.packedRollups(), String(PACKED.all));
      // at level 2 the month hashes are what is read: the day only they hold shows
      const packed = await queryContactKpis(redis, keys, 'org-5', 'c-5', 30, NOW);
      expect(packed).toEqual({ ...fromDays, emailsReceived: fromDays.emailsReceived + 5, openRate: packed.openRate, clickRate: packed.clickRate, replyRate: packed.replyRate });
      await redis.hdel(v1.contactMonth('org-5', 'c-5', month), field);
      expect(await queryContactKpis(redis, keys, 'org-5', 'c-5', 30, NOW)).toEqual(fromDays);
      // past the horizon a packed day reads as empty, as its expired day hash would
      const recent = await queryContactKpis(redis, keys, 'org-5', 'c-5', 30, NOW, undefined, 'contact', 10);
      expect(recent.emailsReceived).toBe(days.reduce((sum, _, i) => sum + (i < 20 || i % 4 === 1 ? 0 : i + 1), 0));
      // a contact with nothing but a packed day past the horizon is not found
      await redis.hset(keys.version(1).contactMonth('org-5', 'c-old', packedDayOf(bucketOf(days[0]!)).month), packedDayOf(bucketOf(days[0]!)).field, '1,,,');
      await expect(queryContactKpis(redis, keys, 'org-5', 'c-old', 30, NOW, undefined, 'contact', 10)).rejects.toMatchObject({ code: 'not_found' });
      expect(await queryContactKpis(redis, keys, 'org-5', 'c-old', 30, NOW)).toMatchObject({ emailsReceived: 1 });
    } finally {
      await redis.del(v1.packedRollups());
    }
  });

  it("count best time and the last open over the contact's months of opens within the horizon, with what the contact hash held before them, at every packed level", async () => {
    const v1 = keys.version(1);
    await redis.hset(keys.controlOrg('org-6'), { enabled: '1', changedAt: '1' });
    // opened before contact hours: on the contact hash (a version not yet rebuilt)
    await redis.hset(v1.contact('org-6', 'c-6'), { tz: 'UTC', lastOpenedAt: String(NOW), 'hl:10': '4' });
    const months = hourMonths(NOW, 100); // 20 November 2026, 100 days: 13 August is the oldest day kept
    expect(months).toEqual(['202609', '202610', '202611']);
    await redis.hset(v1.contactHours('org-6', 'c-6', '202609'), { 'hl:10': '1', 'hl:11': '2', lastOpenedAt: String(NOW - 70 * 86_400_000) });
    await redis.hset(v1.contactHours('org-6', 'c-6', '202611'), { 'hl:11': '6', lastOpenedAt: String(NOW - 86_400_000) });
    // the month across the horizon: left out
    await redis.hset(v1.contactHours('org-6', 'c-6', '202608'), { 'hl:12': '50', lastOpenedAt: String(NOW - 99 * 86_400_000) });
    const slots = (best: Array<{ hour: number; opens: number }> | null) => Object.fromEntries((best ?? []).map((s) => [s.hour, s.opens]));
    try {
      for (const level of [0, PACKED.contacts, PACKED.all]) {
        await redis.set(v1.packedRollups(), String(level));
        const kpis = await queryContactKpis(redis, keys, 'org-6', 'c-6', 30, NOW, undefined, 'contact', 100);
        expect(slots(kpis.bestTimeToEmail), `level ${level}`).toEqual({ 10: 5, 11: 8 });
        expect(kpis.lastOpenedAt).toBe(new Date(NOW).toISOString()); // the contact hash's (written before), the later one
      }
      const heatmap = await queryRecipientHeatmap(redis, keys, 'org-6', 'c-6', 'contact', NOW, undefined, 100);
      expect(heatmap.totalOpens).toBe(13);
    } finally {
      await redis.del(v1.packedRollups());
    }
  });

  it('read a day past the HISTORY_DAYS horizon as empty, as its expired day hash would be', async () => {
    const range = { from: days[0], to: days[29] };
    const all = await queryRollupKpis(redis, keys, 'org-3', { kind: 'org' }, range, NOW, config.historyDays);
    const recent = await queryRollupKpis(redis, keys, 'org-3', { kind: 'org' }, range, NOW, 10);
    // NOW is noon: the day that started 10 days before the day of NOW is 10.5 days old, past the horizon
    expect(recent.daily.slice(0, 20).every((d) => d.emails === 0 && d.opens === 0)).toBe(true);
    expect(recent.daily.slice(20)).toEqual(all.daily.slice(20));
    expect(recent.emails).toBe(all.daily.slice(20).reduce((sum, d) => sum + d.emails, 0));
  });

  it('answer not_found for nothing stored, engagement_disabled for a disabled org', async () => {
    const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (isEngagementError(e) ? e.code : 'other'));
    expect(await code(queryContactKpis(redis, keys, 'org-1', 'nobody', 30, NOW))).toBe('not_found');
    expect(await code(queryEmailKpis(redis, keys, 'org-1', 'e-404'))).toBe('not_found');
    expect(await code(queryEmailKpis(redis, keys, 'org-2', 'e-1'))).toBe('engagement_disabled');
  });
});

/**
 * Reads of several round trips (rankings, heatmaps, daily series) check, once done, that their
 * version is live still: a replay's switch deletes the old version's keys right after it.
 */
describe('a read of several round trips across a switch', () => {
  it('is read again on the new version when the switch came during it, whatever it found or threw', async () => {
    const own = testConfig();
    const r = createRedis(own);
    const k = keysFor(own.redisPrefix);
    try {
      await r.hset(k.controlOrg('org-1'), { enabled: '1', changedAt: '1' });
      await r.set(k.controlSynced(), '1');
      for (const v of [1, 2]) await r.hset(k.version(v).email('org-1', 'e-1'), { opens: String(10 * v) });
      const seen: number[] = [];
      // the switch and the old version's deletion happen between this read's two round trips
      const answer = await readLive(r, k, 'org-1', undefined, async (v) => {
        seen.push(v.v);
        const first = await r.hget(v.email('org-1', 'e-1'), 'opens');
        if (v.v === 1) {
          await r.set(k.currentVersion(), '2');
          await r.del(v.email('org-1', 'e-1'));
        }
        const second = await r.hget(v.email('org-1', 'e-1'), 'opens');
        if (second === null) throw new Error(`e-1 not found in version ${v.v}`);
        return [first, second];
      });
      expect(seen).toEqual([1, 2]);
      expect(answer).toEqual(['20', '20']);
      // a read the switch did not touch answers at once
      seen.length = 0;
      expect(await readLive(r, k, 'org-1', undefined, async (v) => (seen.push(v.v), r.hget(v.email('org-1', 'e-1'), 'opens')))).toBe('20');
      expect(seen).toEqual([2]);
    } finally {
      await deleteRedisPrefix(r, own.redisPrefix);
      r.disconnect();
    }
  });
});
