/**
 * The master key wraps the organisations' data keys (ENGAGEMENT_MASTER_KEY = `kid:secret,…`;
 * the first wraps, every one unwraps, for rotation). A master key's 256-bit key-encryption key
 * is SHA-256 of its secret's UTF-8 bytes; a data key is wrapped with AES-256-GCM under it, the
 * associated data being `<orgId>:<keyId>` so a wrapped key cannot be replayed for another org.
 * Pure.
 */

import { createHash, randomBytes } from 'node:crypto';
import { DATA_KEY_BYTES, FieldCipherError, openBytes, sealBytes } from './field-cipher.js';

export interface MasterKey {
  kid: string;
  secret: string;
}

export interface WrappedKey {
  /** the master key id that wrapped it */
  kid: string;
  /** base64url(nonce | wrapped key | tag) */
  wrapped: string;
}

const keks = new Map<string, Buffer>();

/** The key-encryption key of a master secret (cached: it is derived on every unwrap otherwise). */
export function keyEncryptionKey(secret: string): Buffer {
  let kek = keks.get(secret);
  if (!kek) {
    kek = createHash('sha256').update(secret, 'utf8').digest();
    keks.set(secret, kek);
  }
  return kek;
}

function wrapAad(orgId: string, keyId: string): Buffer {
  return Buffer.from(`${orgId}:${keyId}`, 'utf8');
}

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/** Wraps under the first master key. */
export function wrapDataKey(dataKey: Buffer, orgId: string, keyId: string, masters: readonly MasterKey[]): WrappedKey {
  const master = masters[0];
  if (!master) throw new Error('wrapDataKey needs at least one master key');
  return { kid: master.kid, wrapped: sealBytes(keyEncryptionKey(master.secret), dataKey, wrapAad(orgId, keyId)).toString('base64url') };
}

/** Unwraps with the master key the record names; throws FieldCipherError when it is unknown or does not open. */
export function unwrapDataKey(key: WrappedKey, orgId: string, keyId: string, masters: readonly MasterKey[]): Buffer {
  const master = masters.find((m) => m.kid === key.kid);
  if (!master) throw new FieldCipherError(`no master key "${key.kid}" in ENGAGEMENT_MASTER_KEY`);
  const dataKey = openBytes(keyEncryptionKey(master.secret), Buffer.from(key.wrapped, 'base64url'), wrapAad(orgId, keyId));
  if (dataKey.length !== DATA_KEY_BYTES) throw new FieldCipherError(`unwrapped data key has ${dataKey.length} bytes, expected ${DATA_KEY_BYTES}`);
  return dataKey;
}
