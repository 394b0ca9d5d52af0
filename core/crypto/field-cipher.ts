/**
 * AES-256-GCM for single text fields, the wire form of every encrypted field of an event:
 * base64url(nonce[12] | ciphertext | tag[16]). The associated data binds a ciphertext to its
 * place: `<eventId>:<field path>` (UTF-8), so a value cannot be moved to another event or field
 * without failing authentication. Pure apart from the nonce's randomness.
 *
 * Nonces are random (96 bits) from a pooled CSPRNG buffer: one `randomFillSync` per 512 nonces at most
 * instead of one per field keeps sealing cheap on the pixel path; so does the GCM of ./gcm.ts,
 * which keeps each key's cipher state instead of building an OpenSSL context per field.
 */

import { randomFillSync } from 'node:crypto';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmOpenSpans, gcmSeal, gcmSealSpans } from './gcm.js';

export const FIELD_ALGORITHM = 'A256GCM';
export const NONCE_BYTES = GCM_NONCE_BYTES;
export const TAG_BYTES = GCM_TAG_BYTES;
export const DATA_KEY_BYTES = 32;

const POOL_NONCES = 512;
const pool = Buffer.allocUnsafe(NONCE_BYTES * POOL_NONCES);
let next = pool.length;

/** A view into the pool: valid until the next call (gcmSeal copies it into its output). */
function freshNonce(): Buffer {
  if (next >= pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const nonce = pool.subarray(next, next + NONCE_BYTES);
  next += NONCE_BYTES;
  return nonce;
}

/** Why a field could not be opened; callers turn it into a dead letter or a gate reason. */
export class FieldCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldCipherError';
  }
}

/** The associated data of one field of one event. */
export function fieldAad(eventId: string, path: string): Buffer {
  return Buffer.from(`${eventId}:${path}`, 'utf8');
}

export function sealBytes(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  return gcmSeal(key, freshNonce(), plaintext, aad);
}

export function openBytes(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new FieldCipherError(`sealed value of ${sealed.length} bytes is shorter than nonce and tag`);
  const plain = gcmOpen(key, sealed, aad);
  if (plain === null) throw new FieldCipherError('authentication failed (wrong key, or the value or its place was altered)');
  return plain;
}

export function sealField(key: Buffer, plaintext: string, eventId: string, path: string): string {
  return sealBytes(key, Buffer.from(plaintext, 'utf8'), fieldAad(eventId, path)).toString('base64url');
}

export function openField(key: Buffer, sealed: string, eventId: string, path: string): string {
  return openBytes(key, Buffer.from(sealed, 'base64url'), fieldAad(eventId, path)).toString('utf8');
}

/** [path, value] of one event's field. */
export type FieldEntry = readonly [path: string, value: string];

/**
 * `count` fresh nonces, at `nonces[noncesAt ..]`: from the pool when they fit in it (refilled first
 * when its rest is too short), else from a buffer of their own (an EmailSent with hundreds of
 * recipients seals more fields than the pool holds: they must never run past it).
 */
function freshNonces(count: number): { nonces: Buffer; noncesAt: number } {
  const bytes = count * NONCE_BYTES;
  if (bytes > pool.length) return { nonces: randomFillSync(Buffer.allocUnsafe(bytes)), noncesAt: 0 };
  if (next + bytes > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const noncesAt = next;
  next += bytes;
  return { nonces: pool, noncesAt };
}

/** What sealFields and openFields lay their fields out in, and seal or open into: reused, both are synchronous. */
let fieldsIn = Buffer.allocUnsafe(4096);
let fieldsOut: Buffer = Buffer.allocUnsafe(4096);

/** fieldsIn, grown to hold at least `bytes`. */
function fieldsRoom(bytes: number): void {
  if (fieldsIn.length < bytes) fieldsIn = Buffer.allocUnsafe(Math.max(bytes, 2 * fieldsIn.length));
}

/**
 * Writes each field's associated data (`<eventId>:<path>`, UTF-8) and then its value (`utf8`: the
 * text to seal; `base64url`: the bytes of a sealed one) into fieldsIn, one field after the other.
 * Returns where each is, as gcm.ts reads spans, and the end of what was written.
 */
function layOut(eventId: string, fields: readonly FieldEntry[], encoding: 'utf8' | 'base64url'): { spans: number[]; end: number } {
  let bound = 0;
  for (const [path, value] of fields) bound += 3 * (eventId.length + 1 + path.length + value.length);
  fieldsRoom(bound);
  const spans = new Array<number>(4 * fields.length);
  let at = 0;
  for (let i = 0; i < fields.length; i++) {
    const [path, value] = fields[i]!;
    spans[4 * i] = at;
    at += fieldsIn.write(eventId, at, 'utf8');
    fieldsIn[at++] = 0x3a; // ':'
    at += fieldsIn.write(path, at, 'utf8');
    spans[4 * i + 1] = at;
    spans[4 * i + 2] = at;
    at += fieldsIn.write(value, at, encoding);
    spans[4 * i + 3] = at;
  }
  return { spans, end: at };
}

/**
 * sealField for several fields of one event at once: one cipher call for all of them, and no
 * Buffer per field (each field's associated data and text are written into one reused buffer,
 * sealed into another, and read out as base64url): on the pixel path, the Buffers cost more than
 * the AES (bench/RESULTS.md, nineteenth session).
 */
export function sealFields(key: Buffer, eventId: string, fields: readonly FieldEntry[]): string[] {
  const count = fields.length;
  if (count === 0) return [];
  const { spans, end: at } = layOut(eventId, fields, 'utf8');
  const { nonces, noncesAt } = freshNonces(count);
  const sealed = gcmSealSpans(key, { src: fieldsIn, spans, count, nonces, noncesAt }, fieldsOut);
  fieldsOut = sealed.out;
  // the reused buffer keeps no personal data between calls
  fieldsIn.fill(0, 0, at);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(fieldsOut.toString('base64url', i === 0 ? 0 : sealed.ends[i - 1], sealed.ends[i]));
  return out;
}

/**
 * The UTF-8 text sealed in `sealed`, base64url of nonce | ciphertext | tag, under the associated
 * data `aad`; null when it does not open, or when `sealed` is not the canonical spelling of its
 * bytes (base64url decoding skips junk and ignores padding bits: only the text a seal wrote is
 * that value). Through the reused buffers of sealFields: a tracking token is opened on every request.
 */
export function openCanonical(key: Buffer, sealed: string, aad: Buffer): string | null {
  fieldsRoom(aad.length + sealed.length);
  aad.copy(fieldsIn, 0);
  const at = aad.length;
  const bytes = fieldsIn.write(sealed, at, 'base64url');
  if (bytes < NONCE_BYTES + TAG_BYTES || fieldsIn.toString('base64url', at, at + bytes) !== sealed) return null;
  const opened = gcmOpenSpans(key, { src: fieldsIn, spans: [0, at, at, at + bytes], count: 1 }, fieldsOut);
  fieldsOut = opened.out;
  const end = opened.ends[0]!;
  if (end < 0) return null;
  const text = fieldsOut.toString('utf8', 0, end);
  // the reused buffer keeps no plaintext between calls
  fieldsOut.fill(0, 0, end);
  return text;
}

/** openField for several fields of one event at once (as sealFields: one cipher call, reused buffers); throws FieldCipherError when one does not open. */
export function openFields(key: Buffer, eventId: string, fields: readonly FieldEntry[]): string[] {
  const count = fields.length;
  if (count === 0) return [];
  const { spans } = layOut(eventId, fields, 'base64url');
  for (let i = 0; i < count; i++) {
    const bytes = spans[4 * i + 3]! - spans[4 * i + 2]!;
    if (bytes < NONCE_BYTES + TAG_BYTES) throw new FieldCipherError(`sealed value of ${bytes} bytes is shorter than nonce and tag`);
  }
  const opened = gcmOpenSpans(key, { src: fieldsIn, spans, count }, fieldsOut);
  fieldsOut = opened.out;
  const { ends } = opened;
  try {
    if (ends.some((end) => end < 0)) throw new FieldCipherError('authentication failed (wrong key, or the value or its place was altered)');
    return ends.map((end, i) => fieldsOut.toString('utf8', i === 0 ? 0 : ends[i - 1], end));
  } finally {
    // the reused buffer keeps no plaintext between calls, whether they open or not
    fieldsOut.fill(0, 0, Math.max(0, ...ends));
  }
}
