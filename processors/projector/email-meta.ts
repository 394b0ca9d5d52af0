/**
 * What the fold needs to know about an email to attribute its interactions: the sender and
 * template rollups, and the send time (a click within MACHINE_CLICK_SECONDS of it is a scanner).
 */
export interface EmailMeta {
  senderId: string;
  templateId: string | null;
  sentAt: number;
}

export type EmailMetaLookup = ReadonlyMap<string, EmailMeta>;

export function emailMetaKey(orgId: string, emailId: string): string {
  return `${orgId}\u0000${emailId}`;
}

/** Parses the HMGET sentAt senderId templateId answer; null when the email was never folded. */
export function emailMetaFromHash(values: ReadonlyArray<string | null>): EmailMeta | null {
  const [sentAt, senderId, templateId] = values;
  if (sentAt == null || senderId == null) return null;
  return { sentAt: Number(sentAt), senderId, templateId: templateId == null || templateId === '' ? null : templateId };
}

export const EMAIL_META_FIELDS = ['sentAt', 'senderId', 'templateId'] as const;
