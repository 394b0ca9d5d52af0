import { describe, expect, it } from 'vitest';
import { MAC_BYTES, signLegacyToken, signToken, verifyToken, type TokenPayload } from '../../../producers/tracking/tokens.js';

const secrets = [{ kid: 'k2', secret: 'second-secret' }, { kid: 'k1', secret: 'first-secret' }];
const click: TokenPayload = {
  kind: 'c',
  orgId: 'org-1',
  emailId: 'e-1',
  contactId: 'c-1',
  recipientType: 'contact',
  sentAtSec: 1_790_000_000,
  linkId: 'l0',
  url: 'https://example.com/offer?x=1&y=é#top',
};

describe('tracking tokens', () => {
  it('round-trips every kind of payload', () => {
    const payloads: TokenPayload[] = [
      { kind: 'o', orgId: 'org-1', emailId: 'e-1', contactId: 'c-1', recipientType: 'contact', sentAtSec: 1 },
      click,
      { kind: 'a', orgId: 'o', emailId: 'e', contactId: 'c', recipientType: 'contact', sentAtSec: 2, attachmentId: 'a0', url: 'https://f.example/deck.pdf' },
      { kind: 'o', orgId: 'org-1', emailId: 'e-1', contactId: 'c-1', recipientType: 'lead', sentAtSec: 1 },
      { ...click, recipientType: 'account' },
      { kind: 'a', orgId: 'o', emailId: 'e', contactId: 'c', recipientType: 'lead', sentAtSec: 2, attachmentId: 'a0', url: 'https://f.example/deck.pdf' },
    ];
    for (const payload of payloads) expect(verifyToken(signToken(payload, secrets), secrets)).toEqual(payload);
  });

  it('names the recipient type: a lead\'s token is not a contact\'s, and a contact\'s is the format-1 token issued before types', () => {
    const lead = signToken({ ...click, recipientType: 'lead' }, secrets);
    expect(verifyToken(lead, secrets)).toMatchObject({ contactId: 'c-1', recipientType: 'lead' });
    // a format-1 payload, as every token signed before recipient types: verifies, as a contact
    const body = JSON.parse(Buffer.from(signLegacyToken(click, secrets).split('.')[1]!, 'base64url').toString('utf8')) as unknown[];
    expect(body[0]).toBe(1);
    expect(body).not.toContain('contact');
    expect(verifyToken(signLegacyToken(click, secrets), secrets)?.recipientType).toBe('contact');
    expect(verifyToken(signLegacyToken({ ...click, recipientType: 'lead' }, secrets), secrets)?.recipientType).toBe('lead');
  });

  it('is sealed: nothing of the payload is readable in the token, and each token differs (fresh nonce)', () => {
    const token = signToken(click, secrets);
    const [kid, sealed, extra] = token.split('.');
    expect(kid).toBe('k2');
    expect(extra).toBeUndefined();
    const bytes = Buffer.from(sealed!, 'base64url');
    for (const clear of ['org-1', 'c-1', 'e-1', 'example.com', 'offer']) {
      expect(bytes.includes(Buffer.from(clear))).toBe(false);
      expect(token).not.toContain(clear);
    }
    expect(signToken(click, secrets)).not.toBe(token);
  });

  it('still verifies tokens issued before sealing (signed, clear payload), and refuses them tampered', () => {
    const legacy = signLegacyToken(click, secrets);
    expect(legacy.split('.')).toHaveLength(3);
    expect(verifyToken(legacy, secrets)).toEqual(click);
    expect(verifyToken(legacy.slice(0, -2) + (legacy.endsWith('A') ? 'BB' : 'AA'), secrets)).toBeNull();
  });

  it('a legacy token is URL-safe and carries the signing key id and a MAC of at least 16 bytes', () => {
    const token = signLegacyToken(click, secrets);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(encodeURIComponent(token)).toBe(token);
    const [kid, , mac] = token.split('.');
    expect(kid).toBe('k2');
    expect(Buffer.from(mac!, 'base64url').length).toBeGreaterThanOrEqual(MAC_BYTES);
  });

  it.each([['sealed', signToken(click, secrets)], ['legacy', signLegacyToken(click, secrets)]])('refuses a %s token with any single character changed', (_format, token) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let i = 0; i < token.length; i += 1) {
      for (const replacement of [alphabet[(alphabet.indexOf(token[i]!) + 1) % alphabet.length]!, alphabet[(alphabet.indexOf(token[i]!) + 17) % alphabet.length]!]) {
        const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
        expect(verifyToken(tampered, secrets), `position ${i} -> ${replacement}`).toBeNull();
      }
    }
  });

  it('refuses truncated, extended and garbage tokens', () => {
    const token = signToken(click, secrets);
    expect(verifyToken(token.slice(0, -1), secrets)).toBeNull();
    expect(verifyToken(`${token}A`, secrets)).toBeNull();
    expect(verifyToken(`${token}.x`, secrets)).toBeNull();
    expect(verifyToken('', secrets)).toBeNull();
    expect(verifyToken('k2..', secrets)).toBeNull();
    expect(verifyToken('k2.', secrets)).toBeNull();
    expect(verifyToken('k2.AAAA', secrets)).toBeNull();
    expect(verifyToken('x'.repeat(100_000), secrets)).toBeNull();
  });

  it('refuses every other spelling of a valid token\'s bytes (only the text the seal wrote is the token)', () => {
    let token = signToken(click, secrets);
    // a sealed part whose byte length leaves padding bits in its last character
    while (Buffer.from(token.split('.')[1]!, 'base64url').length % 3 === 0) token = signToken(click, secrets);
    const [kid, sealed] = token.split('.') as [string, string];
    const bytes = Buffer.from(sealed, 'base64url');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sealed.at(-1)!);
    const spellings = [
      `${sealed.slice(0, -1)}${alphabet[last + 1]}`, // a padding bit set
      `${sealed.slice(0, 4)}*${sealed.slice(4)}`, // junk inside (skipped by the decoder)
      `${sealed}==`, // padding
      sealed.replaceAll('-', '+').replaceAll('_', '/'), // the other alphabet, when the text has either
    ].filter((other) => other !== sealed);
    expect(spellings.length).toBeGreaterThanOrEqual(3);
    expect(verifyToken(token, secrets)).toEqual(click);
    for (const other of spellings) {
      // node decodes each to the very same bytes: only the spelling differs
      expect(Buffer.from(other, 'base64url').equals(bytes), other).toBe(true);
      expect(verifyToken(`${kid}.${other}`, secrets), other).toBeNull();
    }
  });

  it('refuses an unknown key id, even with a MAC made by a known secret', () => {
    const token = signToken(click, [{ kid: 'k9', secret: 'first-secret' }]);
    expect(verifyToken(token, secrets)).toBeNull();
  });

  it('refuses a token signed with another secret under the same key id', () => {
    expect(verifyToken(signToken(click, [{ kid: 'k1', secret: 'forged' }]), secrets)).toBeNull();
  });

  it('rotation: tokens signed by a retired first key still verify while the key is listed', () => {
    const old = signToken(click, [{ kid: 'k1', secret: 'first-secret' }]);
    expect(verifyToken(old, secrets)).toEqual(click);
    const fresh = signToken(click, secrets);
    expect(fresh.startsWith('k2.')).toBe(true);
    expect(verifyToken(fresh, [{ kid: 'k1', secret: 'first-secret' }])).toBeNull();
  });
});
