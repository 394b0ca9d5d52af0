import { describe, expect, it } from 'vitest';
import { burstClicks } from '../../bench/workload.js';
import type { LinkClicked } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';

/** The bench's expected KPIs follow the projector's burst rule (projections/projector/click-rule.ts). */
const S = 1_800_000_000_000;
const click = (eventId: string, contactId: string, linkId: string, at: number, machineReason: string | null = null): LinkClicked =>
  fixture('LinkClicked', { eventId, contactId, linkId, occurredAt: at, machineReason });

describe('bench workload: burst clicks', () => {
  it('are every click of a recipient in a second with two different links, and only those', () => {
    const events = [
      click('a1', 'c-1', 'l0', S + 10),
      click('a2', 'c-1', 'l0', S + 20), // a double click, then a second link: all three
      click('a3', 'c-1', 'l1', S + 900),
      click('b1', 'c-2', 'l0', S + 100), // another recipient, one link: a person
      click('c1', 'c-1', 'l0', S + 1_000), // the next second: a person
      click('d1', 'c-3', 'l0', S + 5_000),
      click('d2', 'c-3', 'l1', S + 5_100, 'user_agent'), // flagged by another rule: not part of the burst rule
      click('g1', 'c-4', 'l0', S + 7_000),
      click('g2', 'c-4', 'l1', S + 7_100),
    ];
    expect([...burstClicks(events, (e) => e.eventId === 'g2')].sort()).toEqual(['a1', 'a2', 'a3']);
  });
});
