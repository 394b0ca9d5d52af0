import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldCipherError } from '../../core/crypto/field-cipher.js';
import { EventCodec } from '../../schemas/codec.js';
import { catalog } from '../../schemas/catalog.js';
import { EMAIL_EVENT_TYPES, type ContactFollowPreferenceChanged, type EmailEvent } from '../../schemas/events.js';
import { isSealed, isSealedPreference, openEvent, openPreference, sealEvent, sealPreference } from '../../schemas/sealing.js';
import { fixture } from '../support/fixtures.js';

const key = { keyId: 'k1', key: randomBytes(32) };
const codec = new EventCodec();
/** Whole field values of the fixtures (the search below matches a whole Avro string, not a part of one). */
const PERSONAL = ['c-1', 'c-2', 'Mozilla/5.0', '203.0.113.0', 'https://example.com/offer?x=1', 'Quarterly review', 'deck.pdf', 'https://files.example.com/deck.pdf'];

/** Which of them each fixture holds: every personal field of its type (DESIGN §2). */
const PERSONAL_FIELDS: Record<EmailEvent['type'], string[]> = {
  EmailSent: ['c-1', 'c-2', 'https://example.com/offer?x=1', 'Quarterly review', 'deck.pdf', 'https://files.example.com/deck.pdf'],
  EmailOpened: ['c-1', 'Mozilla/5.0', '203.0.113.0'],
  LinkClicked: ['c-1', 'Mozilla/5.0', '203.0.113.0', 'https://example.com/offer?x=1'],
  AttachmentViewed: ['c-1', 'Mozilla/5.0', '203.0.113.0'],
  EmailReplied: ['c-1'],
};

/**
 * A value as an Avro string field holds it (zig-zag varint length, then UTF-8): searched in that
 * form, a short value like `c-1` cannot match by chance inside a base64url ciphertext (whose
 * characters are all printable, so never the length byte).
 */
function avroString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const prefix: number[] = [];
  let n = bytes.length * 2;
  while (n > 0x7f) {
    prefix.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  prefix.push(n);
  return Buffer.concat([Buffer.from(prefix), bytes]);
}

describe('sealing the personal fields of email events', () => {
  it.each(EMAIL_EVENT_TYPES.map((t) => [t]))('%s: no personal value in the encoded bytes; opens back to the original', (type) => {
    const event = fixture(type) as EmailEvent;
    const sealed = sealEvent(event, key);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.encryption).toEqual({ algorithm: 'A256GCM', keyId: 'k1' });
    const bytes = codec.encode(sealed);
    for (const value of PERSONAL) expect(bytes.includes(avroString(value)), value).toBe(false);
    // the same search finds every personal field of the event in its clear encoding: the check can fail
    const clear = codec.encode(event);
    expect(PERSONAL.filter((value) => clear.includes(avroString(value)))).toEqual(PERSONAL_FIELDS[type]);
    // clear fields stay clear: gating, partitioning and de-duplication need no key
    for (const value of [event.orgId, event.emailId, event.eventId]) expect(bytes.includes(Buffer.from(value))).toBe(true);
    const decoded = codec.decode(bytes) as EmailEvent;
    expect(openEvent(decoded, key.key, 'all')).toEqual({ ...event, encryption: { algorithm: 'A256GCM', keyId: 'k1' } });
  });

  it('opens only the fields a scope names', () => {
    const click = sealEvent(fixture('LinkClicked'), key);
    const gate = openEvent(click, key.key, 'gate');
    expect(gate.contactId).toBe('c-1');
    expect(gate.url).toBe(click.url);
    expect(gate.userAgent).toBe(click.userAgent);
    const projection = openEvent(click, key.key, 'projection');
    expect(projection.url).toMatch(/^https:\/\/example.com/);
    expect(projection.userAgent).toBe(click.userAgent);
    const sealedSent = sealEvent(fixture('EmailSent'), key);
    const sent = openEvent(sealedSent, key.key, 'projection');
    // c-2 is not followed: the fold only counts it, so it stays sealed
    expect(sent.recipients.map((r) => r.contactId)).toEqual(['c-1', sealedSent.recipients[1]!.contactId]);
    expect(sent.subject).toBe('Quarterly review');
  });

  it('keeps nulls null and leaves clear (old) records alone', () => {
    const open = fixture('EmailOpened', { userAgent: null, ipHash: null });
    const sealed = sealEvent(open, key);
    expect(sealed.userAgent).toBeNull();
    expect(sealed.ipHash).toBeNull();
    const clear = fixture('EmailOpened');
    expect(openEvent(clear, randomBytes(32))).toBe(clear);
  });

  it('a field moved to another event or another field does not open', () => {
    const a = sealEvent(fixture('EmailOpened'), key);
    const b = sealEvent(fixture('EmailOpened'), key);
    expect(() => openEvent({ ...a, contactId: b.contactId }, key.key)).toThrow(FieldCipherError);
    expect(() => openEvent({ ...a, userAgent: a.contactId }, key.key)).toThrow(FieldCipherError);
    expect(() => openEvent(a, randomBytes(32))).toThrow(FieldCipherError);
  });

  it('a sealed record still decodes with the previous schema version (old readers see ciphertext)', () => {
    for (const type of EMAIL_EVENT_TYPES) {
      const versions = catalog.versions.get(type)!;
      const previous = versions[versions.length - 2]!;
      const current = versions[versions.length - 1]!;
      const sealed = sealEvent(fixture(type) as EmailEvent, key);
      const body = current.avroType.toBuffer(sealed);
      const read = previous.avroType.fromBuffer(body, previous.avroType.createResolver(current.avroType)) as { eventId: string };
      expect(read.eventId).toBe(sealed.eventId);
    }
  });
});

describe('sealing a recipient preference (control topic, v3)', () => {
  const original = fixture('ContactFollowPreferenceChanged', { contactId: 'c-secret-42', suppressionHash: 'HMAC-of-the-recipient' });
  const preference = (): ContactFollowPreferenceChanged => ({ ...original });

  it('seals contactId (AAD eventId:contactId); keeps the suppression hash, type and allow in clear; opens back', () => {
    const sealed = sealPreference(preference(), key);
    expect(isSealedPreference(sealed)).toBe(true);
    const bytes = codec.encode(sealed);
    expect(bytes.includes(Buffer.from('c-secret-42'))).toBe(false);
    expect(bytes.includes(Buffer.from('HMAC-of-the-recipient'))).toBe(true);
    const decoded = codec.decode(bytes) as ContactFollowPreferenceChanged;
    expect(decoded.encryption).toEqual({ algorithm: 'A256GCM', keyId: 'k1' });
    expect(openPreference(decoded, key.key)).toEqual({ ...preference(), encryption: null });
    // the associated data binds the value to its event
    expect(() => openPreference({ ...decoded, eventId: '00000000-0000-4000-8000-000000000000' }, key.key)).toThrow(FieldCipherError);
    expect(() => openPreference(decoded, randomBytes(32))).toThrow(FieldCipherError);
  });

  it('refuses to seal a preference without its suppression hash (nothing would outlive a purge)', () => {
    expect(() => sealPreference({ ...preference(), suppressionHash: null }, key)).toThrow(/suppressionHash/);
  });

  it('an old clear v2 record still reads, with no hash and no encryption', () => {
    const v2 = catalog.versions.get('ContactFollowPreferenceChanged')!.find((v) => v.version === 2)!;
    const { suppressionHash: _h, encryption: _e, ...clear } = preference();
    const decoded = codec.decode(codec.encodeWith(v2, clear as ContactFollowPreferenceChanged)) as ContactFollowPreferenceChanged;
    expect(decoded).toMatchObject({ contactId: 'c-secret-42', suppressionHash: null, encryption: null });
    expect(isSealedPreference(decoded)).toBe(false);
  });
});
