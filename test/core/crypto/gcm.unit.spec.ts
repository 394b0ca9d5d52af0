import { describe, expect, it } from 'vitest';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { gcmOpen, gcmSeal, gcmSealSpans } from '../../../core/crypto/gcm.js';

const hex = (s: string) => Buffer.from(s, 'hex');

/** node's (OpenSSL's) GCM: the reference our wire format must equal. */
function nodeSeal(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function nodeOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const body = decipher.update(sealed.subarray(12, sealed.length - 16));
  decipher.final();
  return body;
}

/** A key past its first use: the table path (the first sighting is served by node's GCM). */
function warmKey(): Buffer {
  const key = randomBytes(32);
  gcmSeal(key, randomBytes(12), Buffer.alloc(0), Buffer.alloc(0));
  return key;
}

describe('AES-256-GCM with cached key state (core/crypto/gcm.ts)', () => {
  // The GCM specification's AES-256 test cases 14 and 16 (McGrew & Viega, 2005).
  it.each([
    {
      name: 'test case 14',
      key: '00'.repeat(32),
      nonce: '00'.repeat(12),
      plaintext: '00'.repeat(16),
      aad: '',
      sealed: 'cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919',
    },
    {
      name: 'test case 16',
      key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
      nonce: 'cafebabefacedbaddecaf888',
      plaintext: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
      aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
      sealed:
        '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
        '76fc6ece0f4e1768cddf8853bb2d551b',
    },
  ])('matches the specification vectors ($name) on the first use and on the table path', (v) => {
    const key = hex(v.key);
    const expected = Buffer.concat([hex(v.nonce), hex(v.sealed)]);
    for (let use = 0; use < 3; use++) {
      expect(gcmSeal(key, hex(v.nonce), hex(v.plaintext), hex(v.aad)).toString('hex')).toBe(expected.toString('hex'));
      expect(gcmOpen(key, expected, hex(v.aad))?.toString('hex')).toBe(v.plaintext);
    }
  });

  it('equals node’s GCM for every length of plaintext and associated data around block edges', () => {
    const key = warmKey();
    for (let textBytes = 0; textBytes <= 66; textBytes++) {
      for (const aadBytes of [0, 1, 15, 16, 17, 31, 32, 33, 47, 70]) {
        const nonce = randomBytes(12);
        const plaintext = randomBytes(textBytes);
        const aad = randomBytes(aadBytes);
        const ours = gcmSeal(key, nonce, plaintext, aad);
        expect(ours.equals(nodeSeal(key, nonce, plaintext, aad))).toBe(true);
        expect(nodeOpen(key, ours, aad).equals(plaintext)).toBe(true);
        expect(gcmOpen(key, nodeSeal(key, nonce, plaintext, aad), aad)?.equals(plaintext)).toBe(true);
      }
    }
  });

  it('equals node’s GCM under many keys', () => {
    for (let i = 0; i < 200; i++) {
      const key = warmKey();
      const nonce = randomBytes(12);
      const plaintext = randomBytes(i % 90);
      const aad = randomBytes((i * 7) % 60);
      expect(gcmSeal(key, nonce, plaintext, aad).equals(nodeSeal(key, nonce, plaintext, aad))).toBe(true);
    }
  });

  it('refuses every flipped bit of nonce, ciphertext and tag, another AAD and another key', () => {
    const key = warmKey();
    const aad = Buffer.from('event-1:contactId');
    const sealed = gcmSeal(key, randomBytes(12), Buffer.from('contact-42'), aad);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const altered = Buffer.from(sealed);
      altered[bit >> 3] = altered[bit >> 3]! ^ (1 << (bit & 7));
      expect(gcmOpen(key, altered, aad)).toBeNull();
    }
    expect(gcmOpen(key, sealed, Buffer.from('event-1:userAgent'))).toBeNull();
    expect(gcmOpen(warmKey(), sealed, aad)).toBeNull();
    expect(gcmOpen(key, sealed.subarray(0, 27), aad)).toBeNull();
    expect(gcmOpen(key, sealed, aad)?.toString()).toBe('contact-42');
  });

  it('refuses a key that is not 256 bits', () => {
    const short = randomBytes(16);
    expect(() => gcmSeal(short, randomBytes(12), Buffer.from('x'), Buffer.alloc(0))).toThrow();
    expect(() => gcmSeal(short, randomBytes(12), Buffer.from('x'), Buffer.alloc(0))).toThrow(/32-byte key/);
  });

  it('refuses to seal values whose nonces would run past the nonce buffer (they would read as zeros)', () => {
    const key = warmKey();
    const src = Buffer.from('aadtext');
    expect(() => gcmSealSpans(key, { src, spans: [0, 3, 3, 7, 0, 3, 3, 7], count: 2, nonces: randomBytes(20), noncesAt: 0 }, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => gcmSealSpans(key, { src, spans: [0, 3, 3, 7], count: 1, nonces: randomBytes(24), noncesAt: 13 }, Buffer.alloc(0))).toThrow(RangeError);
    for (const noncesAt of [0.5, Number.NaN, -12]) expect(() => gcmSealSpans(key, { src, spans: [0, 3, 3, 7], count: 1, nonces: randomBytes(24), noncesAt }, Buffer.alloc(0))).toThrow(RangeError);
    expect(gcmSealSpans(key, { src, spans: [0, 3, 3, 7], count: 1, nonces: randomBytes(24), noncesAt: 12 }, Buffer.alloc(0)).ends).toEqual([12 + 4 + 16]);
  });
});
