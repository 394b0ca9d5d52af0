/**
 * Three weeks of believable history for the demo org, as upstream JSON events for
 * POST /v1/events: each contact has habits (a preferred weekday hour, an open propensity),
 * so the best-time-to-email table has something to find. Deterministic for a given seed.
 */

import { randomUUID } from 'node:crypto';
import { seededRandom } from '../core/seeded-random.js';
import { utcOffsetHours } from '../projections/queries/best-time.js';

export interface DemoContact {
  contactId: string;
  type: 'contact' | 'lead';
  timeZone: string;
  /** local hour the contact tends to read mail */
  habitHour: number;
  propensity: number;
}

const ZONES = ['Europe/Paris', 'America/New_York', 'Europe/London', 'Asia/Singapore'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function demoContacts(count: number, seed = 7): DemoContact[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({
    contactId: `contact-${String(i + 1).padStart(2, '0')}`,
    type: i % 5 === 4 ? 'lead' : 'contact',
    timeZone: ZONES[i % ZONES.length]!,
    habitHour: 8 + Math.floor(random() * 9),
    propensity: 0.35 + random() * 0.6,
  }));
}

export interface HistoryOptions {
  orgId: string;
  contacts: readonly DemoContact[];
  now: number;
  days?: number;
  emails?: number;
  seed?: number;
}

export function demoHistory(options: HistoryOptions): Array<Record<string, unknown>> {
  const { orgId, contacts, now } = options;
  const days = options.days ?? 28;
  const emailCount = options.emails ?? 14;
  const random = seededRandom(options.seed ?? 11);
  const start = now - days * DAY;
  const events: Array<Record<string, unknown>> = [{ type: 'OrgEngagementEnabled', orgId, occurredAt: start - HOUR, eventId: randomUUID() }];
  for (let e = 0; e < emailCount; e++) {
    const emailId = `history-${e + 1}`;
    const sentAt = start + Math.floor(((e + 0.5) / emailCount) * (days - 2) * DAY);
    const recipients = contacts.filter((_, i) => (i + e) % 3 !== 0);
    events.push({
      type: 'EmailSent',
      eventId: randomUUID(),
      orgId,
      occurredAt: sentAt,
      emailId,
      senderId: e % 2 === 0 ? 'alice' : 'bob',
      templateId: e % 3 === 0 ? 'newsletter' : 'follow-up',
      subject: `Demo email ${e + 1}`,
      follow: true,
      recipients: recipients.map((c) => ({ contactId: c.contactId, contactType: c.type, followed: true, timeZone: c.timeZone })),
      links: [
        { linkId: 'l0', url: 'https://example.com/pricing' },
        { linkId: 'l1', url: 'https://example.com/case-study' },
      ],
      attachments: [],
    });
    for (const c of recipients) {
      if (random() > c.propensity) continue;
      const dayOffset = Math.floor(random() * 2);
      const habitUtc = c.habitHour - utcOffsetHours(c.timeZone, sentAt);
      const openedAt = Math.min(now - HOUR, dayStart(sentAt) + (dayOffset * 24 + habitUtc) * HOUR + Math.floor(random() * 50) * 60_000);
      if (openedAt <= sentAt) continue;
      // a lead's interactions are a lead's (recipient types are separate namespaces)
      const interaction = { orgId, emailId, contactId: c.contactId, recipientType: c.type, userAgent: 'Mozilla/5.0 (Macintosh)', method: 'GET' };
      events.push({ type: 'EmailOpened', eventId: randomUUID(), occurredAt: openedAt, ...interaction });
      if (random() < 0.3) events.push({ type: 'EmailOpened', eventId: randomUUID(), occurredAt: openedAt + 2 * HOUR, ...interaction });
      if (random() < 0.45) {
        const linkId = random() < 0.6 ? 'l0' : 'l1';
        const url = linkId === 'l0' ? 'https://example.com/pricing' : 'https://example.com/case-study';
        events.push({ type: 'LinkClicked', eventId: randomUUID(), occurredAt: openedAt + 90_000, linkId, url, ...interaction });
      }
      if (random() < 0.15) {
        events.push({ type: 'EmailReplied', eventId: randomUUID(), occurredAt: openedAt + 20 * 60_000, orgId, emailId, contactId: c.contactId, recipientType: c.type });
      }
    }
  }
  return events.sort((a, b) => (a.occurredAt as number) - (b.occurredAt as number));
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}
