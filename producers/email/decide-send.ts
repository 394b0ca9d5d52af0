/**
 * Decides what a send request becomes (DESIGN.md §2.1, §2.2, §2.3): the EmailSent event to write
 * and the answer with each followed recipient's tracking URLs. Pure: the org switch, the
 * subscription and the contacts' preferences are read by the caller, at `acceptedAt`. The event
 * carries that instant, and the gate judges the send at it (sentAt only places it on its day),
 * so a 201 with followed recipients always yields their `received` counts.
 */

import { createHash } from 'node:crypto';
import { EngagementError } from '../../core/errors.js';
import { legacyContactType, recipientKey, type EmailSent, type RecipientType } from '../../schemas/events.js';
import { recipientTracking, type TrackingContext } from '../tracking/tracking-urls.js';
import type { SendEmailRequest } from './send-request.js';

export interface SendEmailResponse {
  emailId: string;
  followed: boolean;
  recipients: Array<{
    contactId: string;
    type: RecipientType;
    followed: boolean;
    openPixelUrl?: string;
    links: Array<{ url: string; trackedUrl: string }>;
    attachments: Array<{ name: string; url: string; trackedUrl: string }>;
  }>;
}

export interface SendContext {
  orgId: string;
  /** the server's clock when it accepted the send: the instant of the follow decision */
  acceptedAt: number;
  orgEnabled: boolean;
  /** the org's subscription ended (and was not renewed): nothing of it is collected any more */
  subscriptionEnded: boolean;
  /** recipientKey(type, id) -> allows following (absent = allows) */
  allows: ReadonlyMap<string, boolean>;
  tracking: TrackingContext;
}

export function decideSend(request: SendEmailRequest, ctx: SendContext): { event: EmailSent; response: SendEmailResponse } {
  if (request.follow && ctx.subscriptionEnded) {
    throw new EngagementError('subscription_ended', `the subscription of organisation "${ctx.orgId}" has ended: the email can't be followed`);
  }
  if (request.follow && !ctx.orgEnabled) {
    throw new EngagementError('engagement_disabled', `email engagement is disabled for organisation "${ctx.orgId}": the email can't be followed`);
  }
  const links = request.links.map((link, i) => ({ linkId: `l${i}`, url: link.url }));
  const attachments = request.attachments.map((a, i) => ({ attachmentId: `a${i}`, name: a.name, url: a.url }));
  const recipients = request.recipients.map((r) => ({
    contactId: r.contactId,
    // older readers know only contact | lead: an account reads there as a contact
    contactType: legacyContactType(r.recipientType),
    recipientType: r.recipientType,
    followed: request.follow && ctx.allows.get(recipientKey(r.recipientType, r.contactId)) !== false,
    timeZone: r.timeZone,
  }));
  const event: EmailSent = {
    type: 'EmailSent',
    eventId: emailSentEventId(ctx.orgId, request.emailId),
    orgId: ctx.orgId,
    occurredAt: request.sentAt,
    acceptedAt: ctx.acceptedAt,
    emailId: request.emailId,
    senderId: request.senderId,
    templateId: request.templateId,
    subject: request.subject,
    follow: request.follow,
    recipients,
    links,
    attachments,
  };
  const sentAtSec = Math.floor(request.sentAt / 1000);
  const response: SendEmailResponse = {
    emailId: request.emailId,
    followed: request.follow,
    recipients: recipients.map((r) =>
      r.followed
        ? {
            contactId: r.contactId,
            type: r.recipientType,
            followed: true,
            ...recipientTracking(
              ctx.tracking,
              { orgId: ctx.orgId, emailId: request.emailId, contactId: r.contactId, recipientType: r.recipientType, sentAtSec },
              links,
              attachments,
            ),
          }
        : { contactId: r.contactId, type: r.recipientType, followed: false, links: [], attachments: [] },
    ),
  };
  return { event, response };
}

/**
 * One email is sent once: a client retrying the same emailId produces the same eventId, which
 * the projector counts once (DESIGN.md §4).
 */
export function emailSentEventId(orgId: string, emailId: string): string {
  const h = createHash('sha256').update(`EmailSent\u0000${orgId}\u0000${emailId}`).digest('hex');
  // RFC 9562 version 8 (custom) with the RFC variant bits.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
