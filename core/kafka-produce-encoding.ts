/**
 * A Produce request (v3 to v7: one layout) written in one pass into one buffer, byte for byte what
 * kafkajs's own encoder writes for the same arguments (a unit test compares them). kafkajs builds
 * it record by record: an `Encoder` per record (a zeroed 512-byte buffer), a `Buffer.from` per
 * varint, 64-bit `Long` arithmetic per timestamp, three copies of every record and a CRC32C of one
 * byte per loop turn. In the spool's sender thread under the pixel load that was over half of the
 * thread's busy time with its garbage collection (bench/RESULTS.md, twenty-first session).
 *
 * Only the plain case is taken here: no compression, no record headers, keys and values that are
 * Buffers, text or null, timestamps that are whole milliseconds (deltas below 2^52), no empty
 * partition. Anything else returns null and the caller uses kafkajs's encoder, so nothing kafkajs
 * can send is refused.
 */
import { crc32c } from './crc32c.js';

/** A message as kafkajs's producer hands it to the Produce request (after partitioning). */
export interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: unknown;
  timestamp?: unknown;
}

export interface ProducePartition {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}

export interface ProduceTopic {
  topic: string;
  partitions: ProducePartition[];
}

/** 64-bit values as kafkajs passes them: its `Long` (a BigInt in `value`), a number or decimal text. */
export type Int64Like = { value: bigint } | number | string | bigint;

export interface ProduceRequest {
  acks: number;
  timeout: number;
  transactionalId: string | null;
  producerId: Int64Like;
  producerEpoch: number;
  topicData: ProduceTopic[];
}

const MAGIC = 2;
const TRANSACTIONAL = 16;
/** firstOffset(8) length(4) leaderEpoch(4) magic(1) crc(4) */
const BATCH_HEAD = 21;
/** attributes(2) lastOffsetDelta(4) firstTimestamp(8) maxTimestamp(8) producerId(8) epoch(2) firstSequence(4) count(4) */
const BATCH_BODY_HEAD = 40;

/** What a record's key or value is written as, or undefined when kafkajs must write it. */
type Bytes = Buffer | string | null;

interface PlannedPartition {
  partition: number;
  firstSequence: number;
  first: unknown;
  max: unknown;
  deltas: number[];
  keys: Bytes[];
  values: Bytes[];
  bodySizes: number[];
  /** the record batch's bytes from leaderEpoch on (what follows firstOffset and length) */
  batchSize: number;
}

/**
 * The request's body (what kafkajs's `encode()` returns), or null when it is not the plain case.
 * `now` stands in for kafkajs's `Date.now()` for messages without a timestamp.
 */
export function encodeProduceRequest(request: ProduceRequest, now: () => number = Date.now): Buffer | null {
  const topics: Array<{ name: Buffer; partitions: PlannedPartition[] }> = [];
  let size = stringSize(request.transactionalId) + 2 + 4 + 4;
  for (const { topic, partitions } of request.topicData) {
    const name = Buffer.from(topic, 'utf8');
    const planned: PlannedPartition[] = [];
    size += 2 + name.length + 4;
    for (const data of partitions) {
      const plan = planPartition(data, now);
      if (!plan) return null;
      planned.push(plan);
      size += 4 + 4 + 12 + plan.batchSize;
    }
    topics.push({ name, partitions: planned });
  }
  const out = Buffer.allocUnsafe(size);
  let at = writeString(out, 0, request.transactionalId);
  at = out.writeInt16BE(request.acks, at);
  at = out.writeInt32BE(request.timeout, at);
  at = out.writeInt32BE(topics.length, at);
  const transactional = request.transactionalId ? TRANSACTIONAL : 0;
  const producerId = toInt64(request.producerId);
  for (const { name, partitions } of topics) {
    at = out.writeInt16BE(name.length, at);
    at += name.copy(out, at);
    at = out.writeInt32BE(partitions.length, at);
    for (const p of partitions) {
      at = out.writeInt32BE(p.partition, at);
      at = out.writeInt32BE(12 + p.batchSize, at);
      at = out.writeBigInt64BE(0n, at);
      at = out.writeInt32BE(p.batchSize, at);
      at = out.writeInt32BE(0, at);
      at = out.writeInt8(MAGIC, at);
      const crcAt = at;
      at += 4;
      const bodyStart = at;
      at = out.writeInt16BE(transactional, at);
      at = out.writeInt32BE(p.deltas.length - 1, at);
      at = out.writeBigInt64BE(toInt64(p.first as Int64Like), at);
      at = out.writeBigInt64BE(toInt64(p.max as Int64Like), at);
      at = out.writeBigInt64BE(producerId, at);
      at = out.writeInt16BE(request.producerEpoch, at);
      at = out.writeInt32BE(p.firstSequence, at);
      at = out.writeInt32BE(p.deltas.length, at);
      for (let i = 0; i < p.deltas.length; i++) {
        at = writeUVarInt(out, at, zigZag(p.bodySizes[i]!));
        out[at++] = 0;
        at = writeUVarInt(out, at, zigZag(p.deltas[i]!));
        at = writeUVarInt(out, at, zigZag(i));
        at = writeVarBytes(out, at, p.keys[i]!);
        at = writeVarBytes(out, at, p.values[i]!);
        out[at++] = 0; // no headers
      }
      out.writeUInt32BE(crc32c(out, bodyStart, at), crcAt);
    }
  }
  if (at !== size) throw new Error(`produce request: wrote ${at} bytes of ${size}`);
  return out;
}

function planPartition(data: ProducePartition, now: () => number): PlannedPartition | null {
  const { messages } = data;
  if (messages.length === 0) return null;
  // kafkajs sorts the timestamps with Array.prototype.sort (as text) and takes both ends
  let first: unknown;
  let max: unknown;
  let firstText = '';
  let maxText = '';
  for (const m of messages) {
    if (m.timestamp == null) continue;
    if (!isWholeTimestamp(m.timestamp)) return null;
    const text = String(m.timestamp);
    if (first === undefined || text < firstText) (first = m.timestamp), (firstText = text);
    if (max === undefined || text > maxText) (max = m.timestamp), (maxText = text);
  }
  // kafkajs reads the clock once per partition, for the batch's timestamps and every record without one
  let dateNow: number | undefined;
  if (first === undefined) first = max = dateNow = now();
  if (!isWholeTimestamp(first)) return null;
  const n = messages.length;
  const deltas = new Array<number>(n);
  const keys = new Array<Bytes>(n);
  const values = new Array<Bytes>(n);
  const bodySizes = new Array<number>(n);
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    // kafkajs's Record takes `headers = {}`: null, or any header, is kafkajs's to write (or refuse)
    if (m.headers !== undefined && (m.headers === null || Object.keys(m.headers).length > 0)) return null;
    const key = asBytes(m.key);
    const value = asBytes(m.value);
    if (key === undefined || value === undefined) return null;
    // as kafkajs: `(message.timestamp || Date.now()) - firstTimestamp`, JavaScript's own arithmetic
    const delta = ((m.timestamp || (dateNow ??= now())) as number) - (first as number);
    if (!Number.isSafeInteger(delta) || Math.abs(delta) >= 2 ** 52) return null;
    const body = 1 + uvarIntSize(zigZag(delta)) + uvarIntSize(zigZag(i)) + varBytesSize(key) + varBytesSize(value) + 1;
    deltas[i] = delta;
    keys[i] = key;
    values[i] = value;
    bodySizes[i] = body;
    recordsSize += uvarIntSize(zigZag(body)) + body;
  }
  return {
    partition: data.partition,
    firstSequence: data.firstSequence ?? 0,
    first,
    max,
    deltas,
    keys,
    values,
    bodySizes,
    batchSize: BATCH_HEAD - 12 + BATCH_BODY_HEAD + recordsSize,
  };
}

/** A timestamp kafkajs's `Long` and BigInt read alike: a safe integer, or its decimal text. */
function isWholeTimestamp(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  return typeof value === 'string' && /^-?\d{1,15}$/.test(value);
}

function asBytes(value: unknown): Bytes | undefined {
  if (value == null) return null;
  if (Buffer.isBuffer(value) || typeof value === 'string') return value;
  return undefined;
}

/** kafkajs's zig-zag: 32-bit for lengths and offsets, 64-bit for timestamp deltas; the same for safe integers. */
function zigZag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function uvarIntSize(n: number): number {
  let size = 1;
  while (n >= 128) (n = Math.floor(n / 128)), size++;
  return size;
}

function writeUVarInt(out: Buffer, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

function varBytesSize(value: Bytes): number {
  if (value === null) return 1;
  const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
  return uvarIntSize(zigZag(length)) + length;
}

function writeVarBytes(out: Buffer, at: number, value: Bytes): number {
  if (value === null) return writeUVarInt(out, at, zigZag(-1));
  if (typeof value === 'string') {
    const length = Buffer.byteLength(value, 'utf8');
    at = writeUVarInt(out, at, zigZag(length));
    return at + out.write(value, at, length, 'utf8');
  }
  at = writeUVarInt(out, at, zigZag(value.length));
  return at + value.copy(out, at);
}

function stringSize(value: string | null): number {
  return value === null ? 2 : 2 + Buffer.byteLength(value, 'utf8');
}

function writeString(out: Buffer, at: number, value: string | null): number {
  if (value === null) return out.writeInt16BE(-1, at);
  at = out.writeInt16BE(Buffer.byteLength(value, 'utf8'), at);
  return at + out.write(value, at, 'utf8');
}

/** A signed 64-bit value from what kafkajs passes; as its `Long.fromValue` for whole numbers. */
function toInt64(value: Int64Like): bigint {
  if (typeof value === 'bigint') return BigInt.asIntN(64, value);
  if (typeof value === 'object' && value !== null && typeof value.value === 'bigint') return BigInt.asIntN(64, value.value);
  return BigInt.asIntN(64, BigInt(value as number | string));
}
