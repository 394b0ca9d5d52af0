/**
 * What the fold needs to know about an email to attribute its interactions: the sender and
 * template rollups, and the send time (a click within MACHINE_CLICK_SECONDS of it is a scanner).
 */
export interface EmailMeta {
  senderId: string;
  templateId: string | null;
  sentAt: number;
  /** recipientRef -> IANA zone, for the recipients the send gave one (best time counts opens on their clock) */
  zones: Readonly<Record<string, string>> | null;
}

export type EmailMetaLookup = ReadonlyMap<string, EmailMeta>;

export function emailMetaKey(orgId: string, emailId: string): string {
  return `${orgId}\u0000${emailId}`;
}

/** The org of an emailMetaKey. */
export function emailMetaOrg(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

/**
 * Whether a send is still known after its org's latest purge (`purgedAt`, null: never purged): one
 * at or before it is gone with the org's data, for the live lookup (meta-loader.ts) and the
 * replay's fold alike. Pure.
 */
export function outlivesPurge(meta: EmailMeta, purgedAt: number | null): boolean {
  return purgedAt === null || meta.sentAt > purgedAt;
}

/** Parses the HMGET sentAt senderId templateId answer and the flags hash's `z`; null when the email was never folded. */
export function emailMetaFromHash(values: ReadonlyArray<string | null>, zones: string | null = null): EmailMeta | null {
  const [sentAt, senderId, templateId] = values;
  if (sentAt == null || senderId == null) return null;
  return { sentAt: Number(sentAt), senderId, templateId: templateId == null || templateId === '' ? null : templateId, zones: parseZones(zones) };
}

/** The flags hash's `z` field: what the fold wrote, or null (no zone, or written before zones were kept). */
export function parseZones(raw: string | null): Record<string, string> | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, string>) : null;
  } catch {
    return null;
  }
}

/** The flags hash field holding an email's recipient zones. */
export const ZONES_FIELD = 'z';

export const EMAIL_META_FIELDS = ['sentAt', 'senderId', 'templateId'] as const;
