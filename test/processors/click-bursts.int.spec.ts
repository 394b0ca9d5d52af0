import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dayOf, type VersionKeys } from '../../projections/keys.js';
import type { EmailEvent, LinkClicked } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { RedisProjection } from './support/redis-projection.js';

/**
 * DESIGN §5: several links of one email clicked by one recipient within the same second are all a
 * machine's, the first included. The projector judges it in log order (projections/projector/click-rule.ts),
 * so the outcome is the same however the log is cut into batches (live vs replay), and a click
 * counted as a person's before the burst showed is taken back, unique counts included.
 */
const DAY_MS = 86_400_000;
const SENT_AT = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS + 9 * 3_600_000;
const BURST_AT = SENT_AT + 3_600_000; // a whole second: the burst's clicks share it
const DAY = dayOf(SENT_AT);
const sent = fixture('EmailSent', { occurredAt: SENT_AT });
const email = (k: VersionKeys) => k.email('org-1', 'e-1');
const orgd = (k: VersionKeys) => k.orgDay('org-1', DAY);
const contactd = (k: VersionKeys) => k.contactDay('org-1', 'c-1', DAY);

function click(linkId: string, at: number, contactId = 'c-1'): LinkClicked {
  return fixture('LinkClicked', { eventId: randomUUID(), linkId, url: `https://example.com/${linkId}`, occurredAt: at, contactId });
}

const burst = (): LinkClicked[] => [click('l0', BURST_AT + 10), click('l1', BURST_AT + 400), click('l2', BURST_AT + 990)];

/** Delivers `events` cut into batches at the given sizes (each event also delivered twice). */
async function project(events: EmailEvent[], cuts: number[]): Promise<RedisProjection> {
  const p = await RedisProjection.open().deliver(sent);
  let at = 0;
  for (const size of cuts) {
    const batch = events.slice(at, at + size);
    await p.deliver(...batch, ...batch);
    at += size;
  }
  return p;
}

const numbers = (hash: Record<string, string>, fields: string[]) => Object.fromEntries(fields.map((f) => [f, Number(hash[f] ?? 0)]));
const CLICK_FIELDS = ['clicks', 'uniqueClicks', 'machineClicks', 'lc:l0', 'lc:l1', 'lc:l2', 'lu:l0', 'lu:l1', 'lu:l2'];

describe('click bursts in the projector', () => {
  it('flags all three clicks of a burst, the first included, however the batches are cut', async () => {
    for (const cuts of [[3], [1, 1, 1], [1, 2], [2, 1]]) {
      const p = await project(burst(), cuts);
      expect(numbers(await p.get(email), CLICK_FIELDS), `batches ${cuts.join('+')}`).toEqual({
        clicks: 0, uniqueClicks: 0, machineClicks: 3, 'lc:l0': 0, 'lc:l1': 0, 'lc:l2': 0, 'lu:l0': 0, 'lu:l1': 0, 'lu:l2': 0,
      });
      expect(numbers(await p.get(orgd), ['clicks', 'uniqueClicks', 'machineClicks'])).toEqual({ clicks: 0, uniqueClicks: 0, machineClicks: 3 });
      expect(numbers(await p.get(contactd), ['clicked'])).toEqual({ clicked: 0 });
    }
  });

  it('leaves a person\u2019s earlier click and its unique count alone', async () => {
    const person = click('l0', BURST_AT - 60_000);
    for (const cuts of [[4], [1, 1, 2], [2, 2], [1, 3]]) {
      const p = await project([person, ...burst()], cuts);
      expect(numbers(await p.get(email), CLICK_FIELDS), `batches ${cuts.join('+')}`).toEqual({
        clicks: 1, uniqueClicks: 1, machineClicks: 3, 'lc:l0': 1, 'lc:l1': 0, 'lc:l2': 0, 'lu:l0': 1, 'lu:l1': 0, 'lu:l2': 0,
      });
      expect(numbers(await p.get(contactd), ['clicked'])).toEqual({ clicked: 1 });
    }
  });

  it('counts a person\u2019s click after a burst as the recipient\u2019s first again', async () => {
    const later = click('l1', BURST_AT + 120_000);
    for (const cuts of [[4], [1, 3], [3, 1]]) {
      const p = await project([...burst(), later], cuts);
      expect(numbers(await p.get(email), CLICK_FIELDS), `batches ${cuts.join('+')}`).toEqual({
        clicks: 1, uniqueClicks: 1, machineClicks: 3, 'lc:l0': 0, 'lc:l1': 1, 'lc:l2': 0, 'lu:l0': 0, 'lu:l1': 1, 'lu:l2': 0,
      });
      expect(numbers(await p.get(contactd), ['clicked'])).toEqual({ clicked: 1 });
    }
  });

  it('is no burst: one link clicked twice in a second, links in different seconds, two recipients in one second', async () => {
    const events = [
      click('l0', BURST_AT + 100),
      click('l0', BURST_AT + 300),
      click('l1', BURST_AT + 1_000),
      click('l2', BURST_AT + 2_500),
      click('l1', BURST_AT + 2_600, 'c-2'),
    ];
    for (const cuts of [[5], [1, 1, 1, 1, 1], [2, 3]]) {
      const p = await project(events, cuts);
      expect(numbers(await p.get(email), CLICK_FIELDS), `batches ${cuts.join('+')}`).toEqual({
        clicks: 5, uniqueClicks: 2, machineClicks: 0, 'lc:l0': 2, 'lc:l1': 2, 'lc:l2': 1, 'lu:l0': 1, 'lu:l1': 2, 'lu:l2': 1,
      });
    }
  });

  it('takes back a double click once a second link joins its second', async () => {
    const events = [click('l0', BURST_AT + 100), click('l0', BURST_AT + 200), click('l1', BURST_AT + 300), click('l2', BURST_AT + 400)];
    for (const cuts of [[4], [2, 2], [1, 1, 1, 1]]) {
      const p = await project(events, cuts);
      expect(numbers(await p.get(email), CLICK_FIELDS), `batches ${cuts.join('+')}`).toEqual({
        clicks: 0, uniqueClicks: 0, machineClicks: 4, 'lc:l0': 0, 'lc:l1': 0, 'lc:l2': 0, 'lu:l0': 0, 'lu:l1': 0, 'lu:l2': 0,
      });
    }
  });
});
