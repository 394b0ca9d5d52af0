/**
 * A record of the keys topic (`<prefix>.keys`, compacted, key orgId): JSON, so an outside reader
 * needs nothing but a JSON parser and AES-GCM to use it (README "Reading the topics from outside").
 *   {"orgId","keyId","algorithm":"A256GCM","kid","wrapped":"<base64url(nonce|key|tag)>","createdAt"}
 * A null value (tombstone) destroys every data key of the org. Pure.
 */

import { FIELD_ALGORITHM } from '../crypto/field-cipher.js';
import type { WrappedKey } from '../crypto/master-keys.js';

export interface KeyRecord extends WrappedKey {
  orgId: string;
  keyId: string;
  algorithm: typeof FIELD_ALGORITHM;
  /** epoch ms */
  createdAt: number;
}

export function encodeKeyRecord(record: KeyRecord): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

/** The record, or a message saying why it is not one. */
export function decodeKeyRecord(orgId: string, value: Buffer): KeyRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  const r = parsed as Partial<KeyRecord>;
  if (typeof r !== 'object' || r === null) return 'not an object';
  if (r.orgId !== orgId) return `orgId ${JSON.stringify(r.orgId)} differs from the record key`;
  if (typeof r.keyId !== 'string' || r.keyId === '') return 'keyId missing';
  if (r.algorithm !== FIELD_ALGORITHM) return `unknown algorithm ${JSON.stringify(r.algorithm)}`;
  if (typeof r.kid !== 'string' || typeof r.wrapped !== 'string') return 'kid or wrapped key missing';
  return { orgId, keyId: r.keyId, algorithm: FIELD_ALGORITHM, kid: r.kid, wrapped: r.wrapped, createdAt: Number(r.createdAt) || 0 };
}
