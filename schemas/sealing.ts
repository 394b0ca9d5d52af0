/**
 * Crypto-shredding of events (DESIGN §2 "Purge reaches the log"): the personal fields of every
 * email event are sealed one by one with the org's data key (AES-256-GCM, a fresh nonce each,
 * associated data `<eventId>:<path>`), and `encryption` names the key. orgId, emailId, eventId,
 * times, types, flags and machine reasons stay clear, so partitioning, gating by org and
 * de-duplication need no key. Pure.
 *
 * Sealed paths:
 *   EmailSent         subject, recipients.<i>.contactId, links.<i>.url, attachments.<i>.name, attachments.<i>.url
 *   EmailOpened       contactId, userAgent, ipHash
 *   LinkClicked       contactId, url, userAgent, ipHash
 *   AttachmentViewed  contactId, userAgent, ipHash
 *   EmailReplied      contactId
 *   ContactFollowPreferenceChanged (control topic, v3)  contactId
 * A preference keeps in clear only what must outlive a purge: its suppression hash (the recipient
 * as the suppression list keys it, DESIGN §2.2), type, allow and time; so it is sealed only when it
 * carries that hash. An opened preference has `encryption` null: its contactId is clear.
 * A null stays null. Opening takes a scope, so a processor pays only for the fields it reads:
 * `gate` (the recipient of an interaction), `projection` (what the KPI fold reads: ids of followed
 * recipients and of interactions, subject, clicked URL), `all`.
 */

import { FIELD_ALGORITHM, openField, openFields, sealField, sealFields, type FieldEntry } from '../core/crypto/field-cipher.js';
import { EngagementError } from '../core/errors.js';
import type { AttachmentViewed, ContactFollowPreferenceChanged, EmailEvent, EmailOpened, Encryption, LinkClicked } from './events.js';

export type OpenScope = 'gate' | 'projection' | 'all';

export interface SealingKey {
  keyId: string;
  key: Buffer;
}

type Cipher = (value: string, path: string) => string;

export function isSealed(event: EmailEvent): event is EmailEvent & { encryption: Encryption } {
  return event.encryption !== undefined && event.encryption !== null;
}

/** A copy of `event` with its personal fields sealed under `key`. */
export function sealEvent<T extends EmailEvent>(event: T, key: SealingKey): T {
  if (isSealed(event)) return event;
  const sealed = transform(event, (fields) => sealFields(key.key, event.eventId, fields), 'all');
  sealed.encryption = { algorithm: FIELD_ALGORITHM, keyId: key.keyId };
  return sealed;
}

/**
 * A copy of `event` with the fields of `scope` opened with `key` (the key `encryption.keyId`
 * names); the other personal fields stay sealed. Throws FieldCipherError when one does not open.
 */
export function openEvent<T extends EmailEvent>(event: T, key: Buffer, scope: OpenScope = 'all'): T {
  if (!isSealed(event)) return event;
  return transform(event, (fields) => openFields(key, event.eventId, fields), scope);
}

export type SealedPreference = ContactFollowPreferenceChanged & { encryption: Encryption };

export function isSealedPreference(event: ContactFollowPreferenceChanged): event is SealedPreference {
  return event.encryption !== undefined && event.encryption !== null;
}

/** A copy of a preference with contactId sealed under `key`; it must carry its suppression hash. */
export function sealPreference(event: ContactFollowPreferenceChanged, key: SealingKey): ContactFollowPreferenceChanged {
  if (isSealedPreference(event)) return event;
  if (!event.suppressionHash) throw new EngagementError('validation_failed', 'a sealed ContactFollowPreferenceChanged needs its suppressionHash (what outlives a purge)');
  return { ...event, contactId: sealField(key.key, event.contactId, event.eventId, 'contactId'), encryption: { algorithm: FIELD_ALGORITHM, keyId: key.keyId } };
}

/** A copy with contactId opened with `key` and `encryption` null. Throws FieldCipherError when it does not open. */
export function openPreference(event: ContactFollowPreferenceChanged, key: Buffer): ContactFollowPreferenceChanged {
  if (!isSealedPreference(event)) return event;
  return { ...event, contactId: openField(key, event.contactId, event.eventId, 'contactId'), encryption: null };
}

/** The whole set of an event's fields in `scope` at once (one cipher call: see core/crypto/gcm.ts). */
type BatchCipher = (fields: readonly FieldEntry[]) => string[];

/**
 * The fields of `scope` ciphered in one batch. An interaction of the pixel or the redirects in one
 * walk (transformTracked); the other events by two walks of the same shape: the first lists the
 * fields, the second puts their results in place.
 */
function transform<T extends EmailEvent>(event: T, batch: BatchCipher, scope: OpenScope): T {
  if (isTracked(event)) return transformTracked(event, batch, scope) as T;
  const fields: FieldEntry[] = [];
  transformAny(event, (value, path) => {
    fields.push([path, value]);
    return value;
  }, scope);
  const results = batch(fields);
  let next = 0;
  return transformAny(event, () => results[next++]!, scope) as T;
}

type Tracked = EmailOpened | LinkClicked | AttachmentViewed;

function isTracked(event: EmailEvent): event is Tracked {
  return event.type === 'EmailOpened' || event.type === 'LinkClicked' || event.type === 'AttachmentViewed';
}

/**
 * The personal fields of an interaction in `scope`, listed, ciphered and put in place in one walk:
 * on the pixel path the generic walks and their closures cost about as much as the cipher
 * (bench/RESULTS.md, nineteenth session).
 */
function transformTracked(event: Tracked, batch: BatchCipher, scope: OpenScope): Tracked {
  const all = scope === 'all';
  const url = event.type === 'LinkClicked' && scope !== 'gate';
  const fields: FieldEntry[] = [['contactId', event.contactId]];
  if (all && event.userAgent !== null) fields.push(['userAgent', event.userAgent]);
  if (all && event.ipHash !== null) fields.push(['ipHash', event.ipHash]);
  if (url) fields.push(['url', event.url]);
  const results = batch(fields);
  let next = 0;
  const out = { ...event, contactId: results[next++]! };
  if (all && out.userAgent !== null) out.userAgent = results[next++]!;
  if (all && out.ipHash !== null) out.ipHash = results[next++]!;
  if (url && out.type === 'LinkClicked') out.url = results[next++]!;
  return out;
}

function transformAny(event: Exclude<EmailEvent, Tracked>, f: Cipher, scope: OpenScope): EmailEvent {
  const all = scope === 'all';
  const nullable = (value: string | null, path: string): string | null => (value === null ? null : f(value, path));
  switch (event.type) {
    case 'EmailSent': {
      if (scope === 'gate') return { ...event };
      return {
        ...event,
        subject: nullable(event.subject, 'subject'),
        // the fold reads only followed recipients' ids (the others are a count)
        recipients: event.recipients.map((r, i) => (all || (event.follow && r.followed) ? { ...r, contactId: f(r.contactId, `recipients.${i}.contactId`) } : r)),
        links: all ? event.links.map((l, i) => ({ ...l, url: f(l.url, `links.${i}.url`) })) : event.links,
        attachments: all ? event.attachments.map((a, i) => ({ ...a, name: f(a.name, `attachments.${i}.name`), url: f(a.url, `attachments.${i}.url`) })) : event.attachments,
      };
    }
    case 'EmailReplied':
      return { ...event, contactId: f(event.contactId, 'contactId') };
    default: {
      const never: never = event;
      return never;
    }
  }
}
