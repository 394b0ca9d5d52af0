/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch, eight bytes per loop turn
 * ("slicing-by-8"). kafkajs computes it one byte per turn; node has no native CRC-32C.
 */
const POLY = 0x82f63b78;
/** TABLE[k * 256 + n]: the CRC of byte n followed by k zero bytes */
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let k = 1; k < 8; k++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[k * 256 + n] = c;
  }
}

/** The CRC-32C of `bytes[start..end)`, unsigned. Pure. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLE;
  let crc = ~0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
