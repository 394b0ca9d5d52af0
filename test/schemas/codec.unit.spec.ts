import { describe, expect, it } from 'vitest';
import { isEngagementError } from '../../core/errors.js';
import { catalog } from '../../schemas/catalog.js';
import { EventCodec } from '../../schemas/codec.js';
import { EVENT_TYPES, legacyContactType, recipientTypeOf } from '../../schemas/events.js';
import { fixture, plain } from '../support/fixtures.js';

const codec = new EventCodec();

describe('single-object codec', () => {
  it.each(EVENT_TYPES)('round-trips %s', (type) => {
    const event = fixture(type);
    const bytes = codec.encode(event);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(bytes.toString('hex', 2, 10)).toBe(catalog.current.get(type)!.fingerprintHex);
    expect(plain(codec.decode(bytes))).toEqual(plain(event));
  });

  it('reads an EmailSent written with v1 (no time zone) as the current schema', () => {
    const v1 = catalog.versions.get('EmailSent')!.find((v) => v.version === 1)!;
    const event = fixture('EmailSent');
    const bytes = codec.encodeWith(v1, event);
    const decoded = codec.decode(bytes);
    expect(decoded.type).toBe('EmailSent');
    expect(decoded).toMatchObject({ emailId: 'e-1', follow: true });
    if (decoded.type !== 'EmailSent') throw new Error('unreachable');
    expect(decoded.recipients.map((r) => r.timeZone)).toEqual([null, null]);
    expect(decoded.acceptedAt).toBeNull();
  });

  it('reads an EmailSent written with v2 (no acceptedAt) with acceptedAt null: the gate judges it at occurredAt', () => {
    const v2 = catalog.versions.get('EmailSent')!.find((v) => v.version === 2)!;
    const event = fixture('EmailSent');
    const decoded = codec.decode(codec.encodeWith(v2, event));
    // v2 has no recipientType either: it reads as null (recipientTypeOf falls back to contactType)
    const expected = plain(event) as { recipients: Array<Record<string, unknown>> };
    expect(plain(decoded)).toEqual({ ...expected, acceptedAt: null, encryption: null, recipients: expected.recipients.map((r) => ({ ...r, recipientType: null })) });
  });

  it('an EmailSent written with v3 or later keeps its acceptedAt, and v2 readers can still read it', () => {
    const event = fixture('EmailSent', { acceptedAt: Date.UTC(2026, 10, 2, 10, 30) });
    expect(codec.decode(codec.encode(event))).toMatchObject({ acceptedAt: Date.UTC(2026, 10, 2, 10, 30), occurredAt: event.occurredAt });
    const v2 = catalog.versions.get('EmailSent')!.find((v) => v.version === 2)!;
    const v3 = catalog.current.get('EmailSent')!;
    expect(v3.version).toBeGreaterThanOrEqual(3);
    const old = v2.avroType.fromBuffer(v3.avroType.toBuffer(event), v2.avroType.createResolver(v3.avroType)) as Record<string, unknown>;
    expect(old).toMatchObject({ emailId: 'e-1', occurredAt: event.occurredAt });
    expect(old).not.toHaveProperty('acceptedAt');
  });

  it('reads records written before recipient types: the legacy contactType, else a contact', () => {
    const v2 = catalog.versions.get('EmailSent')!.find((v) => v.version === 2)!;
    const sent = codec.decode(codec.encodeWith(v2, fixture('EmailSent')));
    if (sent.type !== 'EmailSent') throw new Error('unreachable');
    expect(sent.recipients.map((r) => [r.recipientType, recipientTypeOf(r)])).toEqual([
      [null, 'contact'],
      [null, 'lead'],
    ]);
    const pref1 = catalog.versions.get('ContactFollowPreferenceChanged')!.find((v) => v.version === 1)!;
    const pref = codec.decode(codec.encodeWith(pref1, fixture('ContactFollowPreferenceChanged', { recipientType: undefined })));
    if (pref.type !== 'ContactFollowPreferenceChanged') throw new Error('unreachable');
    expect(recipientTypeOf(pref)).toBe('lead');
    const click1 = catalog.versions.get('LinkClicked')!.find((v) => v.version === 1)!;
    const click = codec.decode(codec.encodeWith(click1, fixture('LinkClicked')));
    if (click.type !== 'LinkClicked') throw new Error('unreachable');
    expect([click.recipientType, recipientTypeOf(click)]).toEqual([null, 'contact']);
  });

  it('round-trips the recipient type of interactions', () => {
    for (const recipientType of ['lead', 'account', 'contact', null] as const) {
      const click = fixture('LinkClicked', { recipientType });
      expect(plain(codec.decode(codec.encode(click)))).toEqual(plain(click));
    }
  });

  it('an account is written as a contact for readers of the previous version (they know no accounts)', () => {
    const account = fixture('ContactFollowPreferenceChanged', { contactType: legacyContactType('account'), recipientType: 'account' });
    const v1 = catalog.versions.get('ContactFollowPreferenceChanged')!.find((v) => v.version === 1)!;
    const current = catalog.current.get('ContactFollowPreferenceChanged')!;
    const old = v1.avroType.fromBuffer(codec.encode(account).subarray(10), v1.avroType.createResolver(current.avroType)) as { contactType: string };
    expect(old.contactType).toBe('contact');
    expect(recipientTypeOf(codec.decode(codec.encode(account)) as typeof account)).toBe('account');
  });

  it('reads an EmailOpened written with v1 with the defaults of v2', () => {
    const v1 = catalog.versions.get('EmailOpened')!.find((v) => v.version === 1)!;
    const decoded = codec.decode(codec.encodeWith(v1, fixture('EmailOpened', { method: 'HEAD' })));
    expect(decoded).toMatchObject({ type: 'EmailOpened', method: 'GET', machineReason: null, userAgent: 'Mozilla/5.0' });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['short', Buffer.from([0xc3, 0x01, 1, 2])],
    ['wrong marker', Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(12)])],
    ['unknown fingerprint', Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from([2, 0x61])])],
    ['truncated body', codec.encode(fixture('EmailSent')).subarray(0, 30)],
    ['trailing garbage', Buffer.concat([codec.encode(fixture('EmailReplied')), Buffer.from([1, 2, 3])])],
  ])('rejects %s input with a typed decode error', (_name, bytes) => {
    let caught: unknown;
    try {
      codec.decode(bytes);
    } catch (error) {
      caught = error;
    }
    expect(isEngagementError(caught, 'decode_failed')).toBe(true);
  });

  it('refuses to encode an event that does not match its schema', () => {
    const bad = { ...fixture('EmailReplied'), contactId: 42 } as unknown as ReturnType<typeof fixture<'EmailReplied'>>;
    expect(() => codec.encode(bad)).toThrowError(/does not match its schema/);
  });
});
