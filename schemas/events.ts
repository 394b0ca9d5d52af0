/**
 * The TypeScript side of schemas/avro/*.avsc (current versions). `type` is not in the Avro
 * body: the codec derives it from the writer schema's fingerprint.
 */

/** The legacy enum of v1 schemas: older readers know only these two. */
export type ContactType = 'contact' | 'lead';
/**
 * A recipient's namespace (DESIGN §2.2): a lead and a contact with one id are two recipients.
 * Schemas carry it as `recipientType` (null in records written before it existed); read it with
 * `recipientTypeOf`, never from `contactType` alone.
 */
export type RecipientType = 'contact' | 'lead' | 'account';
export const RECIPIENT_TYPES: readonly RecipientType[] = ['contact', 'lead', 'account'];

/**
 * How an email event's personal fields are sealed (schemas v4/v3 and later): null or absent, in
 * clear (records written before encryption); else each personal field holds
 * base64url(nonce|ciphertext|tag) under the org's data key `keyId` (schemas/sealing.ts).
 */
export interface Encryption {
  algorithm: string;
  keyId: string;
}

interface EventBase {
  eventId: string;
  orgId: string;
  /** epoch milliseconds (Avro timestamp-millis) */
  occurredAt: number;
}

export interface OrgEngagementEnabled extends EventBase {
  type: 'OrgEngagementEnabled';
}
export interface OrgEngagementDisabled extends EventBase {
  type: 'OrgEngagementDisabled';
}
export interface ContactFollowPreferenceChanged extends EventBase {
  type: 'ContactFollowPreferenceChanged';
  contactId: string;
  contactType: ContactType;
  recipientType?: RecipientType | null;
  allow: boolean;
  /**
   * v3: the recipient as the suppression list keys it (projections/control/suppression.ts), in
   * clear: what a reader of a purged org (key destroyed) still has. null/absent before v3.
   */
  suppressionHash?: string | null;
  /** v3: set when contactId is sealed with the org's data key (schemas/sealing.ts) */
  encryption?: Encryption | null;
}
export interface SubscriptionEnded extends EventBase {
  type: 'SubscriptionEnded';
}
export interface SubscriptionRenewed extends EventBase {
  type: 'SubscriptionRenewed';
}
export interface OrgPurged extends EventBase {
  type: 'OrgPurged';
}
/** An administrator resolved the unreadable control record at (partition, offset). */
export interface ControlRecordResolved extends EventBase {
  type: 'ControlRecordResolved';
  partition: number;
  offset: number;
}

export interface Recipient {
  contactId: string;
  contactType: ContactType;
  recipientType?: RecipientType | null;
  followed: boolean;
  timeZone: string | null;
}
export interface Link {
  linkId: string;
  url: string;
}
export interface Attachment {
  attachmentId: string;
  name: string;
  url: string;
}

export interface EmailSent extends EventBase {
  type: 'EmailSent';
  /**
   * When the API accepted the send: the instant of the follow decision, at which the gate judges
   * the send (`occurredAt`, the CRM's sentAt, only places it on its day). null when read from a
   * v1/v2 writer or a backfill that did not say: the gate then judges at occurredAt.
   */
  acceptedAt: number | null;
  emailId: string;
  senderId: string;
  templateId: string | null;
  subject: string | null;
  follow: boolean;
  recipients: Recipient[];
  links: Link[];
  attachments: Attachment[];
  encryption?: Encryption | null;
}

interface InteractionBase extends EventBase {
  emailId: string;
  contactId: string;
  /** null or absent: a contact */
  recipientType?: RecipientType | null;
  encryption?: Encryption | null;
}
interface ClientFields {
  userAgent: string | null;
  ipHash: string | null;
  method: string;
  machineReason: string | null;
}
export interface EmailOpened extends InteractionBase, ClientFields {
  type: 'EmailOpened';
}
export interface LinkClicked extends InteractionBase, ClientFields {
  type: 'LinkClicked';
  linkId: string;
  url: string;
}
export interface AttachmentViewed extends InteractionBase, ClientFields {
  type: 'AttachmentViewed';
  attachmentId: string;
}
export interface EmailReplied extends InteractionBase {
  type: 'EmailReplied';
}

export type ControlEvent =
  | OrgEngagementEnabled
  | OrgEngagementDisabled
  | ContactFollowPreferenceChanged
  | SubscriptionEnded
  | SubscriptionRenewed
  | OrgPurged
  | ControlRecordResolved;
export type InteractionEvent = EmailOpened | LinkClicked | AttachmentViewed | EmailReplied;
export type EmailEvent = EmailSent | InteractionEvent;
export type AnyEvent = ControlEvent | EmailEvent;
export type EventType = AnyEvent['type'];
export type EventOf<T extends EventType> = Extract<AnyEvent, { type: T }>;

export const CONTROL_EVENT_TYPES = [
  'OrgEngagementEnabled',
  'OrgEngagementDisabled',
  'ContactFollowPreferenceChanged',
  'SubscriptionEnded',
  'SubscriptionRenewed',
  'OrgPurged',
  'ControlRecordResolved',
] as const satisfies readonly ControlEvent['type'][];

export const EMAIL_EVENT_TYPES = [
  'EmailSent',
  'EmailOpened',
  'LinkClicked',
  'AttachmentViewed',
  'EmailReplied',
] as const satisfies readonly EmailEvent['type'][];

export const EVENT_TYPES: readonly EventType[] = [...CONTROL_EVENT_TYPES, ...EMAIL_EVENT_TYPES];

const CONTROL_TYPE_SET: ReadonlySet<string> = new Set(CONTROL_EVENT_TYPES);

/** On every event the processors and the tracking path route: a set, not a scan of the type list. */
export function isControlEvent(event: AnyEvent): event is ControlEvent {
  return CONTROL_TYPE_SET.has(event.type);
}

/**
 * Events only the pipeline itself writes, each through its own path: a purge is retention's to
 * make (it deletes what the event promises), a resolution names a dead-lettered control record
 * and is checked against it. Null for any other type; else what to tell whoever sent one raw
 * (`through`: the path it came by, e.g. "/v1/events").
 */
export function reservedEventProblem(type: AnyEvent['type'], through: string): string | null {
  if (type === 'OrgPurged') return `OrgPurged is written by \`engagement retention run\`, not through ${through}`;
  if (type === 'ControlRecordResolved') return `ControlRecordResolved is written by POST /v1/orgs/:orgId/control/resolve, not through ${through}`;
  return null;
}

export function isEmailEvent(event: AnyEvent): event is EmailEvent {
  return !isControlEvent(event);
}

/** The namespace of a recipient, preference or interaction (`recipientType`, else the legacy `contactType`, else contact). */
export function recipientTypeOf(r: { recipientType?: RecipientType | null; contactType?: ContactType }): RecipientType {
  return r.recipientType ?? r.contactType ?? 'contact';
}

/** What older readers get in the legacy `contactType` enum (they know no accounts). */
export function legacyContactType(type: RecipientType): ContactType {
  return type === 'lead' ? 'lead' : 'contact';
}

/** One recipient's identity as a map key: `<type>:<id>` (the type holds no ':'). */
export function recipientKey(type: RecipientType, id: string): string {
  return `${type}:${id}`;
}
