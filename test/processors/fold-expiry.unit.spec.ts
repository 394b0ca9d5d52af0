import { describe, expect, it } from 'vitest';
import { keysFor } from '../../projections/keys.js';
import { emailMetaKey } from '../../processors/projector/email-meta.js';
import { fold, type FoldOptions } from '../../processors/projector/fold.js';
import { fixture } from '../support/fixtures.js';

/**
 * Given/when/then on the fold's expiries: every projection key expires HISTORY_DAYS after its
 * event time (daily keys after their day), never after the processor's clock, so a replay sets
 * the same expiries as the live run.
 */
const keys = keysFor('t').version(1);
const DAY_S = 86_400;
const SENT_AT = Date.UTC(2026, 0, 5, 10, 0, 0, 500);
const DAY_START_S = Date.UTC(2026, 0, 5) / 1000;
const opts = (historyDays: number): FoldOptions => ({ machineClickSeconds: 5, historyDays });
const seconds = (ms: number): number => Math.floor(ms / 1000);

const sent = fixture('EmailSent', { occurredAt: SENT_AT });
const opened = fixture('EmailOpened', { occurredAt: SENT_AT + 3_600_000 });
const clicked = fixture('LinkClicked', { occurredAt: SENT_AT + 7_200_000 });
const nextDay = fixture('EmailReplied', { occurredAt: SENT_AT + 86_400_000 });

describe('fold: expiries at the HISTORY_DAYS horizon', () => {
  it('expires the email and its flags HISTORY_DAYS after the send, the org index after the newest event, the contact after the newest send that gave it a zone', () => {
    const delta = fold([sent, opened, clicked], new Map(), keys, opts(400));
    const newest = seconds(clicked.occurredAt) + 400 * DAY_S;
    expect(delta.expireAt.get(keys.email('org-1', 'e-1'))).toBe(seconds(SENT_AT) + 400 * DAY_S);
    expect(delta.expireAt.get(keys.emailRecipients('org-1', 'e-1'))).toBe(seconds(SENT_AT) + 400 * DAY_S);
    expect(delta.expireAt.get(keys.orgIndex('org-1'))).toBe(newest);
    // the contact hash holds the zone a send gave: opens no longer keep it (they count in their month)
    expect(delta.expireAt.get(keys.contact('org-1', 'c-1'))).toBe(seconds(SENT_AT) + 400 * DAY_S);
    // best time's month of opens: HISTORY_DAYS after the newest day it counts, as that day's keys
    expect(delta.expireAt.get(keys.contactHours('org-1', 'c-1', '202601'))).toBe(DAY_START_S + 400 * DAY_S);
  });

  it('expires daily rollups and contact-days HISTORY_DAYS after their day starts', () => {
    const delta = fold([sent, opened, nextDay], new Map(), keys, opts(83));
    for (const key of [keys.orgDay('org-1', '20260105'), keys.senderDay('org-1', 's-1', '20260105'), keys.templateDay('org-1', 'tpl-1', '20260105'), keys.contactDay('org-1', 'c-1', '20260105')]) {
      expect(delta.expireAt.get(key), key).toBe(DAY_START_S + 83 * DAY_S);
    }
    // the reply has no meta in this batch's lookup but the send is folded before it: same rollups, next day
    expect(delta.expireAt.get(keys.orgDay('org-1', '20260106'))).toBe(DAY_START_S + 84 * DAY_S);
    expect(delta.expireAt.get(keys.contactDay('org-1', 'c-1', '20260106'))).toBe(DAY_START_S + 84 * DAY_S);
  });

  it('gives every key it writes an expiry, and the seen sets none (they keep the de-dup window)', () => {
    const delta = fold([sent, opened, clicked, nextDay], new Map(), keys, opts(400));
    const written = new Set([...delta.incr.keys(), ...delta.set.keys(), ...delta.min.keys(), ...delta.max.keys(), ...delta.flags.keys(), ...delta.orgKeys.keys()]);
    for (const key of written) expect(delta.expireAt.has(key), key).toBe(true);
    for (const seen of delta.seen.keys()) expect(delta.expireAt.has(seen)).toBe(false);
  });

  it('is the same whatever the order and however often an event is delivered', () => {
    const once = fold([sent, opened, clicked], new Map(), keys, opts(400));
    const twice = fold([sent, clicked, opened, opened, sent], new Map(), keys, opts(400));
    expect(twice.expireAt).toEqual(once.expireAt);
  });

  it('folds an interaction from its send\u2019s horizon on as one of an unknown email, as the live run met it, whatever meta is known', () => {
    const H = 30;
    const meta = new Map([[emailMetaKey('org-1', 'e-1'), { senderId: 's-1', templateId: 'tpl-1', sentAt: SENT_AT, zones: null }]]);
    const horizonMs = (seconds(SENT_AT) + H * DAY_S) * 1000;
    const before = fold([fixture('EmailOpened', { occurredAt: horizonMs - 1000 })], meta, keys, opts(H));
    const after = fold([fixture('EmailOpened', { occurredAt: horizonMs })], meta, keys, opts(H));
    const senderDay = (ms: number) => keys.senderDay('org-1', 's-1', new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));
    expect(before.flags.get(keys.emailRecipients('org-1', 'e-1'))?.get('o:c-1')?.map(([key]) => key)).toContain(senderDay(horizonMs - 1000));
    expect(before.expireAt.get(keys.email('org-1', 'e-1'))).toBe(seconds(SENT_AT) + H * DAY_S);
    expect(after.flags.get(keys.emailRecipients('org-1', 'e-1'))?.get('o:c-1')?.map(([key]) => key)).not.toContain(senderDay(horizonMs));
    expect(after.incr.has(senderDay(horizonMs))).toBe(false);
    // its hashes live HISTORY_DAYS from it, as the ones the live run created then
    expect(after.expireAt.get(keys.email('org-1', 'e-1'))).toBe(seconds(horizonMs) + H * DAY_S);
    expect(after.expireOnce.has(keys.email('org-1', 'e-1'))).toBe(false);
  });

  it('does not extend an email by an interaction it ignores (a machine attachment fetch)', () => {
    const bot = fixture('AttachmentViewed', { occurredAt: SENT_AT + 86_400_000, machineReason: 'scanner_user_agent' });
    const delta = fold([sent, bot], new Map(), keys, opts(400));
    expect(delta.expireAt.get(keys.email('org-1', 'e-1'))).toBe(seconds(SENT_AT) + 400 * DAY_S);
  });
});
