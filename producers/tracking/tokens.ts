/**
 * Tracking tokens are sealed: `<kid>.<sealed>`, sealed = base64url(nonce[12] | AES-256-GCM
 * ciphertext of the payload | tag[16]) under a key derived from the tracking secret `kid`
 * (HMAC-SHA256(secret, "engagement tracking token seal")), with the kid as associated data. The
 * GCM tag authenticates the token as the MAC did, and nothing in the URL names the recipient or
 * the target in clear (DESIGN §2 "Purge reaches the log"). Verifying costs one AES-GCM open, the
 * derived keys are cached per secret.
 *
 * Tokens issued before (still verified, never issued): `<kid>.<payload>.<mac>`, every part URL-safe (kid is [A-Za-z0-9], the others
 * base64url). The MAC is HMAC-SHA256 over the ASCII text `<kid>.<payload>`, truncated to 16
 * bytes. Verifying compares the canonical base64url text of the expected MAC, so a token whose
 * last character differs only in padding bits (which base64 decoding ignores) is still refused.
 * Pure: secrets come in as arguments.
 *
 * The payload names the recipient as (type, id): a lead and a contact with one id are two
 * recipients. Format 1 (no type) is a contact: contacts are still signed in it, so their tokens
 * are unchanged, and every token issued before recipient types verifies as before. Leads and
 * accounts are signed in format 2, which carries the type.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { openCanonical, sealBytes } from '../../core/crypto/field-cipher.js';
import { RECIPIENT_TYPES, type RecipientType } from '../../schemas/events.js';

export type TrackingKind = 'o' | 'c' | 'a';

export type TrackingTarget =
  | { kind: 'o' }
  | { kind: 'c'; linkId: string; url: string }
  | { kind: 'a'; attachmentId: string; url: string };

export type TokenPayload = {
  orgId: string;
  emailId: string;
  contactId: string;
  recipientType: RecipientType;
  /** send time in whole seconds: enough for machine detection, short in the URL */
  sentAtSec: number;
} & TrackingTarget;

export interface TrackingSecret {
  kid: string;
  secret: string;
}

export const MAC_BYTES = 16;
/** Far above any real token (URLs are capped at send time); refuses junk before hashing it. */
export const MAX_TOKEN_CHARS = 8192;
/** [1, kind, org, email, contact, sentAtSec, id?, url?]: a contact */
const FORMAT_CONTACT = 1;
/** [2, kind, org, email, recipient, sentAtSec, recipientType, id?, url?] */
const FORMAT_TYPED = 2;

const SEAL_LABEL = 'engagement tracking token seal';
const sealKeys = new Map<string, Buffer>();

function sealKey(secret: string): Buffer {
  let key = sealKeys.get(secret);
  if (!key) {
    key = createHmac('sha256', secret).update(SEAL_LABEL, 'ascii').digest();
    sealKeys.set(secret, key);
  }
  return key;
}

/** A sealed token under the first secret. */
export function signToken(payload: TokenPayload, secrets: readonly TrackingSecret[]): string {
  const signer = secrets[0];
  if (!signer) throw new Error('signToken needs at least one tracking secret');
  const sealed = sealBytes(sealKey(signer.secret), Buffer.from(JSON.stringify(toWire(payload)), 'utf8'), kidAad(signer.kid));
  return `${signer.kid}.${sealed.toString('base64url')}`;
}

/** A token in the format issued before sealing (clear payload + MAC): how old links look. */
export function signLegacyToken(payload: TokenPayload, secrets: readonly TrackingSecret[]): string {
  const signer = secrets[0];
  if (!signer) throw new Error('signLegacyToken needs at least one tracking secret');
  const body = Buffer.from(JSON.stringify(toWire(payload)), 'utf8').toString('base64url');
  const signed = `${signer.kid}.${body}`;
  return `${signed}.${mac(signer.secret, signed)}`;
}

/** The payload of an authentic token (sealed, or legacy signed), or null: unknown kid, bad tag or MAC, malformed anything. */
export function verifyToken(token: string, secrets: readonly TrackingSecret[]): TokenPayload | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const parts = token.split('.');
  if (parts.length === 2) return openSealed(parts[0]!, parts[1]!, secrets);
  if (parts.length !== 3) return null;
  const [kid, body, given] = parts as [string, string, string];
  const secret = secrets.find((s) => s.kid === kid);
  if (!secret) return null;
  const expected = Buffer.from(mac(secret.secret, `${kid}.${body}`), 'ascii');
  const actual = Buffer.from(given, 'ascii');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
  try {
    return fromWire(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
  } catch {
    return null;
  }
}

function openSealed(kid: string, sealed: string, secrets: readonly TrackingSecret[]): TokenPayload | null {
  const secret = secrets.find((s) => s.kid === kid);
  if (!secret) return null;
  const text = openCanonical(sealKey(secret.secret), sealed, kidAad(kid));
  if (text === null) return null;
  try {
    return fromWire(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}

/** A key id as the associated data of its tokens, made once per id (a token is opened on every request). */
const kidAads = new Map<string, Buffer>();

function kidAad(kid: string): Buffer {
  let aad = kidAads.get(kid);
  if (!aad) {
    aad = Buffer.from(kid, 'ascii');
    kidAads.set(kid, aad);
  }
  return aad;
}

function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'ascii').digest().subarray(0, MAC_BYTES).toString('base64url');
}

/** A positional array keeps the URL short (formats above). */
type Wire = [number, TrackingKind, string, string, string, number, ...string[]];

function toWire(p: TokenPayload): Wire {
  const head: Wire =
    p.recipientType === 'contact'
      ? [FORMAT_CONTACT, p.kind, p.orgId, p.emailId, p.contactId, p.sentAtSec]
      : [FORMAT_TYPED, p.kind, p.orgId, p.emailId, p.contactId, p.sentAtSec, p.recipientType];
  if (p.kind === 'c') return [...head, p.linkId, p.url];
  if (p.kind === 'a') return [...head, p.attachmentId, p.url];
  return head;
}

function fromWire(wire: unknown): TokenPayload | null {
  if (!Array.isArray(wire)) return null;
  // indexed reads, not destructuring: this runs on every tracking request
  let extra = 6; // where the target id and url start
  let recipientType: RecipientType = 'contact';
  if (wire[0] === FORMAT_TYPED) {
    const type = wire[6] as unknown;
    if (!RECIPIENT_TYPES.includes(type as RecipientType) || type === 'contact') return null;
    recipientType = type as RecipientType;
    extra = 7;
  } else if (wire[0] !== FORMAT_CONTACT) return null;
  const kind: unknown = wire[1];
  const orgId: unknown = wire[2];
  const emailId: unknown = wire[3];
  const contactId: unknown = wire[4];
  const sentAtSec: unknown = wire[5];
  if (typeof orgId !== 'string' || typeof emailId !== 'string' || typeof contactId !== 'string') return null;
  if (typeof sentAtSec !== 'number' || !Number.isInteger(sentAtSec)) return null;
  if (kind === 'o') return wire.length === extra ? { kind, orgId, emailId, contactId, recipientType, sentAtSec } : null;
  const id: unknown = wire[extra];
  const url: unknown = wire[extra + 1];
  if (typeof id !== 'string' || typeof url !== 'string' || wire.length !== extra + 2) return null;
  if (kind === 'c') return { kind, orgId, emailId, contactId, recipientType, sentAtSec, linkId: id, url };
  if (kind === 'a') return { kind, orgId, emailId, contactId, recipientType, sentAtSec, attachmentId: id, url };
  return null;
}
