/**
 * AES-256-GCM (NIST SP 800-38D, 96-bit nonces, 128-bit tags) for many short values under few
 * keys: the wire format of node's `aes-256-gcm`, at a fraction of its cost per value.
 *
 * Why not `createCipheriv('aes-256-gcm')` per value: in node 20 each call builds an OpenSSL
 * context (provider fetch, key schedule, GHASH key) and that, not the AES, is the cost — ~7 µs
 * alone and 25–50 µs measured inside the loaded API process, four times per tracking pixel
 * (bench/RESULTS.md). Here each key gets, once, an AES-256-ECB cipher object that is kept open
 * (OpenSSL's AES, stateless per block, never finalised) and a 4-bit GHASH table (H times every
 * nibble at every position: 32 × 16 × 128 bits = 8 KiB). A value then costs one ECB call for its
 * counter blocks and a few table lookups per 16 bytes. The table lookups depend on H and the data,
 * as in OpenSSL's portable `gcm_gmult_4bit` (node's own GCM uses carry-less multiplication where the
 * CPU has it, which is constant-time: this is not); the tag is compared in constant time. Each key
 * held costs 8 KiB of table and an open ECB context for as long as its Buffer lives.
 *
 * Keys are cached by Buffer identity (WeakMap): callers pass the same Buffer for a key (the
 * keyring's, the token seal key's), and a key's state goes with it. A Buffer seen for the first
 * time is served by node's GCM: a key used once (a master key unwrapping a data key) never pays
 * for a table. A key Buffer must therefore never be changed in place once used (none is: keys are
 * replaced, never overwritten). Equivalence with node's GCM
 * and the NIST vectors is tested (test/core/crypto/gcm.unit.spec.ts).
 */

import { createCipheriv, createDecipheriv, type Cipher } from 'node:crypto';

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
const BLOCK = 16;

interface KeyState {
  ecb: Cipher;
  /** table[(j * 16 + v) * 4 + w]: word w of H · (nibble v at nibble position j of a block) */
  table: Uint32Array;
}

/** `seen`: used once, no state built yet */
const states = new WeakMap<Buffer, KeyState | 'seen'>();

function stateOf(key: Buffer): KeyState | undefined {
  let state = states.get(key);
  if (state === undefined) {
    states.set(key, 'seen');
    return undefined;
  }
  if (state === 'seen') {
    if (key.length !== 32) throw new RangeError(`AES-256-GCM needs a 32-byte key, got ${key.length}`);
    const ecb = createCipheriv('aes-256-ecb', key, null);
    ecb.setAutoPadding(false);
    const h = ecb.update(Buffer.alloc(BLOCK));
    state = { ecb, table: ghashTable(h) };
    states.set(key, state);
  }
  return state;
}

/** H · x^k for k = 0..127, then every nibble value at every nibble position as XORs of those. */
function ghashTable(h: Buffer): Uint32Array {
  const powers = new Uint32Array(128 * 4);
  let w0 = h.readUInt32BE(0);
  let w1 = h.readUInt32BE(4);
  let w2 = h.readUInt32BE(8);
  let w3 = h.readUInt32BE(12);
  for (let k = 0; k < 128; k++) {
    powers[k * 4] = w0;
    powers[k * 4 + 1] = w1;
    powers[k * 4 + 2] = w2;
    powers[k * 4 + 3] = w3;
    // multiply by x: GCM's bit order makes it a right shift, reduced by R = 0xE1 || 0^120
    const carry = w3 & 1;
    w3 = ((w3 >>> 1) | (w2 << 31)) >>> 0;
    w2 = ((w2 >>> 1) | (w1 << 31)) >>> 0;
    w1 = ((w1 >>> 1) | (w0 << 31)) >>> 0;
    w0 = (w0 >>> 1) ^ (carry ? 0xe1000000 : 0);
  }
  const table = new Uint32Array(32 * 16 * 4);
  for (let j = 0; j < 32; j++) {
    for (let v = 0; v < 16; v++) {
      const at = (j * 16 + v) * 4;
      for (let t = 0; t < 4; t++) {
        if ((v >>> (3 - t)) & 1) {
          const k = (4 * j + t) * 4;
          for (let w = 0; w < 4; w++) table[at + w] = table[at + w]! ^ powers[k + w]!;
        }
      }
    }
  }
  return table;
}

/** GHASH state: Y as four big-endian words, updated block by block. */
class Ghash {
  y0 = 0;
  y1 = 0;
  y2 = 0;
  y3 = 0;
  constructor(private readonly table: Uint32Array) {}

  /** Absorbs `data[start..end)` zero-padded to a whole number of blocks. */
  update(data: Uint8Array, start = 0, end = data.length): void {
    const n = end;
    for (let at = start; at < n; at += BLOCK) {
      if (at + BLOCK <= n) this.block(word(data, at), word(data, at + 4), word(data, at + 8), word(data, at + 12));
      else this.block(partialWord(data, at, n), partialWord(data, at + 4, n), partialWord(data, at + 8, n), partialWord(data, at + 12, n));
    }
  }

  reset(): void {
    this.y0 = 0;
    this.y1 = 0;
    this.y2 = 0;
    this.y3 = 0;
  }

  /** The length block: bit lengths of the associated data and the ciphertext. */
  lengths(aadBytes: number, textBytes: number): void {
    const a = aadBytes * 8;
    const c = textBytes * 8;
    this.block(Math.floor(a / 0x100000000), a >>> 0, Math.floor(c / 0x100000000), c >>> 0);
  }

  private block(b0: number, b1: number, b2: number, b3: number): void {
    const t = this.table;
    const x = [this.y0 ^ b0, this.y1 ^ b1, this.y2 ^ b2, this.y3 ^ b3] as const;
    let z0 = 0;
    let z1 = 0;
    let z2 = 0;
    let z3 = 0;
    // nibble j of X = Y ^ block (j = 0 is the high nibble of byte 0) selects row j of the table
    for (let j = 0; j < 32; j++) {
      const at = j * 64 + ((x[j >>> 3]! >>> (28 - 4 * (j & 7))) & 0xf) * 4;
      z0 ^= t[at]!;
      z1 ^= t[at + 1]!;
      z2 ^= t[at + 2]!;
      z3 ^= t[at + 3]!;
    }
    this.y0 = z0 >>> 0;
    this.y1 = z1 >>> 0;
    this.y2 = z2 >>> 0;
    this.y3 = z3 >>> 0;
  }

  /**
   * Whether the tag at `tag[tagAt..]` is this digest XOR `mask[maskAt..]` (E(J0)): every byte
   * compared, whatever differs, as timingSafeEqual would.
   */
  matches(mask: Uint8Array, maskAt: number, tag: Uint8Array, tagAt: number): boolean {
    const diff = wordDiff(this.y0, mask, maskAt, tag, tagAt) | wordDiff(this.y1, mask, maskAt + 4, tag, tagAt + 4) | wordDiff(this.y2, mask, maskAt + 8, tag, tagAt + 8) | wordDiff(this.y3, mask, maskAt + 12, tag, tagAt + 12);
    return diff === 0;
  }

  digest(into: Buffer, at: number): void {
    into.writeUInt32BE(this.y0, at);
    into.writeUInt32BE(this.y1, at + 4);
    into.writeUInt32BE(this.y2, at + 8);
    into.writeUInt32BE(this.y3, at + 12);
  }
}

/** Non-zero when big-endian `y` XOR mask[maskAt..+4] differs from tag[tagAt..+4]; no early exit. */
function wordDiff(y: number, mask: Uint8Array, maskAt: number, tag: Uint8Array, tagAt: number): number {
  let diff = 0;
  for (let b = 0; b < 4; b++) diff |= ((y >>> (24 - 8 * b)) & 0xff) ^ mask[maskAt + b]! ^ tag[tagAt + b]!;
  return diff;
}

function word(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

/** A word of the last, zero-padded block: bytes at or past `end` count as zero. */
function partialWord(data: Uint8Array, at: number, end: number): number {
  let w = 0;
  for (let i = 0; i < 4; i++) w = (w << 8) | (at + i < end ? data[at + i]! : 0);
  return w >>> 0;
}

/**
 * Values laid out in one buffer, for a caller that seals many short values (an event's fields)
 * without a Buffer per plaintext, associated data and result: value i's associated data is
 * `src[spans[4i] .. spans[4i+1])`, its plaintext `src[spans[4i+2] .. spans[4i+3])`, its nonce
 * `nonces[noncesAt + 12i ..]`.
 */
interface GcmSpans {
  src: Uint8Array;
  spans: ArrayLike<number>;
  count: number;
  nonces: Uint8Array;
  noncesAt: number;
}

/** The counter blocks of the values being sealed or opened, reused (both are synchronous), and a view to write them by words. */
let counters = Buffer.allocUnsafeSlow(64 * BLOCK);
let counterWords = new DataView(counters.buffer, counters.byteOffset, counters.length);

/**
 * For each of `count` values, E(J0) followed by its keystream (J0+1, …), all from ONE ECB call:
 * the call, not the AES, is what costs, so an event's fields are sealed or opened together.
 * `nonceInto(v, at)` writes value v's nonce at `counters[at]`, `lengthOf(v)` is its text's length;
 * `starts[v]` is where value v's blocks begin in the stream.
 */
function keystreams(state: KeyState, count: number, nonceInto: (v: number, at: number) => void, lengthOf: (v: number) => number): { stream: Buffer; starts: number[] } {
  const starts: number[] = [];
  let blocks = 0;
  for (let v = 0; v < count; v++) {
    starts.push(blocks * BLOCK);
    blocks += 1 + Math.ceil(lengthOf(v) / BLOCK);
  }
  if (counters.length < blocks * BLOCK) {
    counters = Buffer.allocUnsafeSlow(Math.max(blocks * BLOCK, 2 * counters.length));
    counterWords = new DataView(counters.buffer, counters.byteOffset, counters.length);
  }
  const words = counterWords;
  for (let v = 0; v < count; v++) {
    const first = starts[v]!;
    const end = v + 1 < count ? starts[v + 1]! : blocks * BLOCK;
    nonceInto(v, first);
    // the nonce's three words again in every block of the value, then the block's counter (big-endian)
    const n0 = words.getUint32(first);
    const n1 = words.getUint32(first + 4);
    const n2 = words.getUint32(first + 8);
    for (let at = first, i = 1; at < end; at += BLOCK, i++) {
      words.setUint32(at, n0);
      words.setUint32(at + 4, n1);
      words.setUint32(at + 8, n2);
      words.setUint32(at + GCM_NONCE_BYTES, i);
    }
  }
  return { stream: state.ecb.update(counters.subarray(0, blocks * BLOCK)), starts };
}

/**
 * nonce | ciphertext | tag of each value, as node's aes-256-gcm would produce them, one after the
 * other in `out` (grown when short); `ends[i]` is where value i's ends. One ECB call for all the
 * values' counter blocks (E(J0), then J0+1, …): the call, not the AES, is what costs.
 */
export function gcmSealSpans(key: Buffer, values: GcmSpans, out: Buffer): { out: Buffer; ends: number[] } {
  const { src, spans, count, nonces, noncesAt } = values;
  // a nonce read past the end would be zeros: the same nonce for every value past it
  if (!Number.isInteger(noncesAt) || !Number.isInteger(count) || noncesAt < 0 || count < 0 || noncesAt + count * GCM_NONCE_BYTES > nonces.length) throw new RangeError(`${count} GCM nonces do not fit from ${noncesAt} in ${nonces.length} bytes`);
  let size = 0;
  for (let v = 0; v < count; v++) size += GCM_NONCE_BYTES + spans[4 * v + 3]! - spans[4 * v + 2]! + GCM_TAG_BYTES;
  if (out.length < size) out = Buffer.allocUnsafe(Math.max(size, 2 * out.length));
  const ends: number[] = [];
  const state = stateOf(key);
  if (!state) {
    let at = 0;
    for (let v = 0; v < count; v++) {
      const nonce = nonces.subarray(noncesAt + v * GCM_NONCE_BYTES, noncesAt + (v + 1) * GCM_NONCE_BYTES);
      at += nativeSeal(key, nonce, src.subarray(spans[4 * v + 2], spans[4 * v + 3]), src.subarray(spans[4 * v], spans[4 * v + 1])).copy(out, at);
      ends.push(at);
    }
    return { out, ends };
  }
  const { stream, starts } = keystreams(
    state,
    count,
    (v, at) => {
      for (let b = 0, from = noncesAt + v * GCM_NONCE_BYTES; b < GCM_NONCE_BYTES; b++) counters[at + b] = nonces[from + b]!;
    },
    (v) => spans[4 * v + 3]! - spans[4 * v + 2]!,
  );
  const ghash = new Ghash(state.table);
  let at = 0;
  for (let v = 0; v < count; v++) {
    const j0 = starts[v]!;
    const aadStart = spans[4 * v]!;
    const aadEnd = spans[4 * v + 1]!;
    const textStart = spans[4 * v + 2]!;
    const n = spans[4 * v + 3]! - textStart;
    const nonceAt = noncesAt + v * GCM_NONCE_BYTES;
    for (let i = 0; i < GCM_NONCE_BYTES; i++) out[at + i] = nonces[nonceAt + i]!;
    const body = at + GCM_NONCE_BYTES;
    for (let i = 0; i < n; i++) out[body + i] = src[textStart + i]! ^ stream[j0 + BLOCK + i]!;
    ghash.reset();
    ghash.update(src, aadStart, aadEnd);
    ghash.update(out, body, body + n);
    ghash.lengths(aadEnd - aadStart, n);
    const tagAt = body + n;
    ghash.digest(out, tagAt);
    for (let i = 0; i < GCM_TAG_BYTES; i++) out[tagAt + i] = out[tagAt + i]! ^ stream[j0 + i]!;
    at = tagAt + GCM_TAG_BYTES;
    ends.push(at);
  }
  return { out, ends };
}

/**
 * Sealed values laid out in one buffer: value v's associated data is `src[spans[4v] .. spans[4v+1])`,
 * its nonce | ciphertext | tag `src[spans[4v+2] .. spans[4v+3])`. Their plaintexts go one after the
 * other into `out` (grown when short); `ends[v]` is where value v's ends, or -1 when it does not
 * open (shorter than nonce and tag, or a tag that does not authenticate it: nothing of it is
 * written). One ECB call for all of them, as for sealing; tags are compared in constant time.
 */
export function gcmOpenSpans(key: Buffer, values: { src: Uint8Array; spans: ArrayLike<number>; count: number }, out: Buffer): { out: Buffer; ends: number[] } {
  const { src, spans, count } = values;
  const lengths: number[] = [];
  let size = 0;
  for (let v = 0; v < count; v++) {
    const n = spans[4 * v + 3]! - spans[4 * v + 2]! - GCM_NONCE_BYTES - GCM_TAG_BYTES;
    lengths.push(n);
    size += Math.max(0, n);
  }
  if (out.length < size) out = Buffer.allocUnsafe(Math.max(size, 2 * out.length));
  const ends: number[] = [];
  const state = stateOf(key);
  let at = 0;
  if (!state) {
    for (let v = 0; v < count; v++) {
      const plain = lengths[v]! < 0 ? null : nativeOpen(key, src.subarray(spans[4 * v + 2], spans[4 * v + 3]), src.subarray(spans[4 * v], spans[4 * v + 1]));
      if (plain) at += plain.copy(out, at);
      ends.push(plain ? at : -1);
    }
    return { out, ends };
  }
  const { stream, starts } = keystreams(
    state,
    count,
    (v, c) => {
      // too short to hold nonce and tag: its counters are never read (it does not open)
      for (let b = 0, from = spans[4 * v + 2]!; b < GCM_NONCE_BYTES && lengths[v]! >= 0; b++) counters[c + b] = src[from + b]!;
    },
    (v) => Math.max(0, lengths[v]!),
  );
  const ghash = new Ghash(state.table);
  for (let v = 0; v < count; v++) {
    const n = lengths[v]!;
    if (n < 0) {
      ends.push(-1);
      continue;
    }
    const j0 = starts[v]!;
    const body = spans[4 * v + 2]! + GCM_NONCE_BYTES;
    ghash.reset();
    ghash.update(src, spans[4 * v]!, spans[4 * v + 1]!);
    ghash.update(src, body, body + n);
    ghash.lengths(spans[4 * v + 1]! - spans[4 * v]!, n);
    if (!ghash.matches(stream, j0, src, body + n)) {
      ends.push(-1);
      continue;
    }
    for (let i = 0; i < n; i++) out[at + i] = src[body + i]! ^ stream[j0 + BLOCK + i]!;
    at += n;
    ends.push(at);
  }
  return { out, ends };
}

/** nonce | ciphertext | tag of one value, as node's aes-256-gcm would produce them. */
export function gcmSeal(key: Buffer, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  if (nonce.length !== GCM_NONCE_BYTES) throw new RangeError(`GCM nonce must be ${GCM_NONCE_BYTES} bytes`);
  const src = Buffer.concat([aad, plaintext]);
  const { out, ends } = gcmSealSpans(key, { src, spans: [0, aad.length, aad.length, src.length], count: 1, nonces: nonce, noncesAt: 0 }, Buffer.allocUnsafe(0));
  return out.subarray(0, ends[0]);
}

/** The plaintext of one value, or null when its tag does not authenticate it. */
export function gcmOpen(key: Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  const src = Buffer.concat([aad, sealed]);
  const { out, ends } = gcmOpenSpans(key, { src, spans: [0, aad.length, aad.length, src.length], count: 1 }, Buffer.allocUnsafe(0));
  return ends[0]! < 0 ? null : out.subarray(0, ends[0]);
}

function nativeSeal(key: Buffer, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

function nativeOpen(key: Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  const n = sealed.length - GCM_NONCE_BYTES - GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, GCM_NONCE_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(GCM_NONCE_BYTES + n));
  const body = decipher.update(sealed.subarray(GCM_NONCE_BYTES, GCM_NONCE_BYTES + n));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return body;
}
