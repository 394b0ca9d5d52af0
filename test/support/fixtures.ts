import { randomUUID } from 'node:crypto';
import type { AnyEvent, EventOf, EventType } from '../../schemas/events.js';

/** One realistic instance of every event type, for round-trip and contract tests. */
export function fixture<T extends EventType>(type: T, overrides: Partial<EventOf<T>> = {}): EventOf<T> {
  const base = { eventId: randomUUID(), orgId: 'org-1', occurredAt: Date.UTC(2026, 10, 2, 9, 30) };
  const client = { userAgent: 'Mozilla/5.0', ipHash: '203.0.113.0', method: 'GET', machineReason: null, encryption: null };
  const all: { [K in EventType]: EventOf<K> } = {
    OrgEngagementEnabled: { type: 'OrgEngagementEnabled', ...base },
    OrgEngagementDisabled: { type: 'OrgEngagementDisabled', ...base },
    ContactFollowPreferenceChanged: {
      type: 'ContactFollowPreferenceChanged',
      ...base,
      contactId: 'c-1',
      contactType: 'lead',
      recipientType: 'lead',
      allow: false,
      suppressionHash: null,
      encryption: null,
    },
    SubscriptionEnded: { type: 'SubscriptionEnded', ...base },
    SubscriptionRenewed: { type: 'SubscriptionRenewed', ...base },
    OrgPurged: { type: 'OrgPurged', ...base },
    ControlRecordResolved: { type: 'ControlRecordResolved', ...base, partition: 2, offset: 41 },
    EmailSent: {
      type: 'EmailSent',
      ...base,
      acceptedAt: base.occurredAt + 1_000,
      emailId: 'e-1',
      senderId: 's-1',
      templateId: 'tpl-1',
      subject: 'Quarterly review',
      follow: true,
      recipients: [
        { contactId: 'c-1', contactType: 'contact', recipientType: 'contact', followed: true, timeZone: 'Europe/Paris' },
        { contactId: 'c-2', contactType: 'lead', recipientType: 'lead', followed: false, timeZone: null },
      ],
      links: [{ linkId: 'l0', url: 'https://example.com/offer?x=1' }],
      attachments: [{ attachmentId: 'a0', name: 'deck.pdf', url: 'https://files.example.com/deck.pdf' }],
      encryption: null,
    },
    EmailOpened: { type: 'EmailOpened', ...base, emailId: 'e-1', contactId: 'c-1', recipientType: null, ...client },
    LinkClicked: {
      type: 'LinkClicked',
      ...base,
      emailId: 'e-1',
      contactId: 'c-1',
      recipientType: null,
      linkId: 'l0',
      url: 'https://example.com/offer?x=1',
      ...client,
    },
    AttachmentViewed: { type: 'AttachmentViewed', ...base, emailId: 'e-1', contactId: 'c-1', recipientType: null, attachmentId: 'a0', ...client },
    EmailReplied: { type: 'EmailReplied', ...base, emailId: 'e-1', contactId: 'c-1', recipientType: 'contact', encryption: null },
  };
  return { ...all[type], ...overrides } as EventOf<T>;
}

export function plain(event: AnyEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}
