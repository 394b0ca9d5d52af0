import { describe, expect, it } from 'vitest';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { FieldCipherError, NONCE_BYTES, openField, sealField, TAG_BYTES } from '../../../core/crypto/field-cipher.js';
import { newDataKey, unwrapDataKey, wrapDataKey } from '../../../core/crypto/master-keys.js';

const EVENT = '6b0f7f7e-3c1b-4f1e-9d55-0d6c2b1e0a11';

describe('field cipher (AES-256-GCM, AAD = eventId:path)', () => {
  it('round-trips a field and writes base64url(nonce | ciphertext | tag)', () => {
    const key = randomBytes(32);
    const sealed = sealField(key, 'contact-42', EVENT, 'contactId');
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed, 'base64url').length).toBe(NONCE_BYTES + 'contact-42'.length + TAG_BYTES);
    expect(sealed).not.toContain('contact-42');
    expect(openField(key, sealed, EVENT, 'contactId')).toBe('contact-42');
  });

  it('uses a fresh nonce per field: one value sealed twice differs', () => {
    const key = randomBytes(32);
    const seen = new Set(Array.from({ length: 2000 }, () => sealField(key, 'same', EVENT, 'contactId').slice(0, 16)));
    expect(seen.size).toBe(2000);
  });

  it('refuses another key, another event, another field and a flipped bit', () => {
    const key = randomBytes(32);
    const sealed = sealField(key, 'contact-42', EVENT, 'contactId');
    expect(() => openField(randomBytes(32), sealed, EVENT, 'contactId')).toThrow(FieldCipherError);
    expect(() => openField(key, sealed, '00000000-0000-4000-8000-000000000000', 'contactId')).toThrow(FieldCipherError);
    expect(() => openField(key, sealed, EVENT, 'userAgent')).toThrow(FieldCipherError);
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[NONCE_BYTES] = bytes[NONCE_BYTES]! ^ 1;
    expect(() => openField(key, bytes.toString('base64url'), EVENT, 'contactId')).toThrow(FieldCipherError);
    expect(() => openField(key, 'AAAA', EVENT, 'contactId')).toThrow(FieldCipherError);
  });
});

describe('data key wrapping under the master keys', () => {
  const old = { kid: 'm1', secret: 'old-master-secret-0123456789' };
  const fresh = { kid: 'm2', secret: 'new-master-secret-0123456789' };

  it('wraps under the first master key and unwraps with any listed one (rotation)', () => {
    const dataKey = newDataKey();
    const wrappedOld = wrapDataKey(dataKey, 'org-a', 'k1', [old]);
    expect(wrappedOld.kid).toBe('m1');
    // after rotation: m2 first, m1 still listed
    const rotated = [fresh, old];
    expect(unwrapDataKey(wrappedOld, 'org-a', 'k1', rotated).equals(dataKey)).toBe(true);
    const wrappedNew = wrapDataKey(dataKey, 'org-a', 'k1', rotated);
    expect(wrappedNew.kid).toBe('m2');
    expect(unwrapDataKey(wrappedNew, 'org-a', 'k1', rotated).equals(dataKey)).toBe(true);
  });

  it('refuses an unknown kid, another org or key id, and a wrong secret', () => {
    const wrapped = wrapDataKey(newDataKey(), 'org-a', 'k1', [old]);
    expect(() => unwrapDataKey(wrapped, 'org-a', 'k1', [fresh])).toThrow(/no master key "m1"/);
    expect(() => unwrapDataKey(wrapped, 'org-b', 'k1', [old])).toThrow(FieldCipherError);
    expect(() => unwrapDataKey(wrapped, 'org-a', 'k2', [old])).toThrow(FieldCipherError);
    expect(() => unwrapDataKey(wrapped, 'org-a', 'k1', [{ kid: 'm1', secret: 'another-secret-0123456789' }])).toThrow(FieldCipherError);
  });
});

describe('sealing and opening an event’s fields together', () => {
  it('opens each field of a batch as a single field, and a batch opens what single seals wrote', async () => {
    const { sealFields, openFields } = await import('../../../core/crypto/field-cipher.js');
    const key = randomBytes(32);
    const fields = [
      ['contactId', 'contact-42'],
      ['userAgent', 'Mozilla/5.0 (Macintosh) ünïcode'],
      ['ipHash', ''],
      ['url', 'https://example.com/'.repeat(20)],
    ] as const;
    const sealed = sealFields(key, EVENT, fields);
    expect(sealed.map((value, i) => openField(key, value, EVENT, fields[i]![0]))).toEqual(fields.map(([, value]) => value));
    const single = fields.map(([path, value]) => [path, sealField(key, value, EVENT, path)] as const);
    expect(openFields(key, EVENT, single)).toEqual(fields.map(([, value]) => value));
  });

  it('seals many fields of every length around block edges in one call, each as node’s GCM opens it, and opens them back in one call', async () => {
    const { sealFields, openFields } = await import('../../../core/crypto/field-cipher.js');
    const key = randomBytes(32);
    // past the key's first sighting: the table path, not node's GCM
    sealFields(key, EVENT, [['warm', 'up']]);
    const fields = Array.from({ length: 41 }, (_, n) => [`f${n}.é`, 'ü'.repeat(n % 7) + 'x'.repeat(n)] as const);
    const sealed = sealFields(key, EVENT, fields);
    fields.forEach(([path, value], i) => {
      const bytes = Buffer.from(sealed[i]!, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(`${EVENT}:${path}`, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      expect(plain.toString('utf8')).toBe(value);
    });
    expect(openFields(key, EVENT, fields.map(([path], i) => [path, sealed[i]!] as const))).toEqual(fields.map(([, value]) => value));
  });

  it('gives each of more fields than the nonce pool holds (an EmailSent with 600 recipients) its own nonce, under a new key and a known one', async () => {
    const { sealFields } = await import('../../../core/crypto/field-cipher.js');
    const key = randomBytes(32);
    const fields = Array.from({ length: 600 }, (_, i) => [`recipients.${i}.contactId`, `contact-${i}`] as const);
    const nonces = new Set<string>();
    // the first call meets the key (node's GCM), the next ones its table
    for (let call = 0; call < 3; call++) {
      const sealed = sealFields(key, EVENT, fields);
      fields.forEach(([path, value], i) => {
        const bytes = Buffer.from(sealed[i]!, 'base64url');
        nonces.add(bytes.subarray(0, NONCE_BYTES).toString('hex'));
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
        decipher.setAAD(Buffer.from(`${EVENT}:${path}`, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        expect(Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')).toBe(value);
      });
    }
    expect(nonces.size).toBe(1800);
  });

  it('refuses the whole batch when one field does not open, or is too short', async () => {
    const { sealFields, openFields } = await import('../../../core/crypto/field-cipher.js');
    const key = randomBytes(32);
    const [a, b] = sealFields(key, EVENT, [['contactId', 'c'], ['userAgent', 'ua']]);
    expect(() => openFields(key, EVENT, [['contactId', a!], ['ipHash', b!]])).toThrow(FieldCipherError);
    expect(() => openFields(key, EVENT, [['contactId', a!], ['userAgent', 'AAAA']])).toThrow(FieldCipherError);
  });

  it('gives every field a fresh nonce, across refills of the nonce pool', async () => {
    const { sealFields } = await import('../../../core/crypto/field-cipher.js');
    const key = randomBytes(32);
    const nonces = new Set<string>();
    for (let i = 0; i < 400; i++) {
      for (const value of sealFields(key, EVENT, [['a', 'x'], ['b', 'x'], ['c', 'x']])) nonces.add(Buffer.from(value, 'base64url').subarray(0, NONCE_BYTES).toString('hex'));
    }
    expect(nonces.size).toBe(1200);
  });
});
