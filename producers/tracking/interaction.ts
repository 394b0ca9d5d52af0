import type { AttachmentViewed, EmailOpened, LinkClicked } from '../../schemas/events.js';
import type { TokenPayload } from './tokens.js';

/** What the request tells about the client, already made privacy-safe (ipHash). */
export interface ClientFacts {
  method: string;
  userAgent: string | null;
  ipHash: string | null;
  machineReason: string | null;
}

export type TrackedInteraction = EmailOpened | LinkClicked | AttachmentViewed;

/** The interaction event a verified token stands for, happening now. Pure. */
export function interactionEvent(token: TokenPayload, client: ClientFacts, eventId: string, nowMs: number): TrackedInteraction {
  const base = {
    eventId,
    orgId: token.orgId,
    occurredAt: nowMs,
    emailId: token.emailId,
    contactId: token.contactId,
    // null for a contact: the record is then what it was before recipient types
    recipientType: token.recipientType === 'contact' ? null : token.recipientType,
    ...client,
  };
  switch (token.kind) {
    case 'o':
      return { type: 'EmailOpened', ...base };
    case 'c':
      return { type: 'LinkClicked', ...base, linkId: token.linkId, url: token.url };
    case 'a':
      return { type: 'AttachmentViewed', ...base, attachmentId: token.attachmentId };
    default: {
      const never: never = token;
      return never;
    }
  }
}
