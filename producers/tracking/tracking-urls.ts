import type { Attachment, Link, RecipientType } from '../../schemas/events.js';
import { signToken, type TrackingSecret } from './tokens.js';

/** The public paths of the tracking endpoints; routes and URL building share them. */
export const TRACKING_PATHS = { o: '/t/o/', c: '/t/c/', a: '/t/a/' } as const;

export interface RecipientTracking {
  openPixelUrl: string;
  links: Array<{ url: string; trackedUrl: string }>;
  attachments: Array<{ name: string; url: string; trackedUrl: string }>;
}

export interface TrackingContext {
  publicBaseUrl: string;
  secrets: readonly TrackingSecret[];
}

/** Signed pixel, link and attachment URLs for one followed recipient of one email. Pure. */
export function recipientTracking(
  ctx: TrackingContext,
  who: { orgId: string; emailId: string; contactId: string; recipientType: RecipientType; sentAtSec: number },
  links: readonly Link[],
  attachments: readonly Attachment[],
): RecipientTracking {
  const url = (kind: keyof typeof TRACKING_PATHS, token: string): string => `${ctx.publicBaseUrl}${TRACKING_PATHS[kind]}${token}`;
  return {
    openPixelUrl: url('o', signToken({ ...who, kind: 'o' }, ctx.secrets)),
    links: links.map((link) => ({
      url: link.url,
      trackedUrl: url('c', signToken({ ...who, kind: 'c', linkId: link.linkId, url: link.url }, ctx.secrets)),
    })),
    attachments: attachments.map((a) => ({
      name: a.name,
      url: a.url,
      trackedUrl: url('a', signToken({ ...who, kind: 'a', attachmentId: a.attachmentId, url: a.url }, ctx.secrets)),
    })),
  };
}
