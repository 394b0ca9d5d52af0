/**
 * kafkajs's DefaultPartitioner (the Java client's murmur2 on the key), computed with 32-bit integer
 * arithmetic. kafkajs computes the same hash with its 64-bit `Long` class, allocating several
 * objects per key byte group, and filters the partition list on every message: in the spool's
 * sender thread under the pixel load that was ~7% of its samples (bench/RESULTS.md, twentieth
 * session). The result is the same partition for every key (a unit test compares them), so records
 * keep their partition whichever producer wrote them. A message naming its partition keeps it;
 * keyless messages go to kafkajs's own partitioner (its round robin over partitions with a leader).
 */
import { Partitioners, type ICustomPartitioner, type ProducerConfig } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Where a string key's UTF-8 bytes are written to be hashed: the partitioner runs per message, synchronously. */
let scratch = Buffer.allocUnsafeSlow(256);

/**
 * The Java client's murmur2 of `key` as kafkajs hashes (and sends) it: a Buffer's bytes, anything
 * else's `String(key)` in UTF-8; a signed 32-bit integer. Deterministic (it only reuses a scratch buffer).
 */
export function murmur2(key: unknown): number {
  if (Buffer.isBuffer(key)) return murmur2Bytes(key, key.length);
  const text = typeof key === 'string' ? key : String(key);
  if (scratch.length < 3 * text.length) scratch = Buffer.allocUnsafeSlow(3 * text.length);
  return murmur2Bytes(scratch, scratch.write(text, 0, 'utf8'));
}

function murmur2Bytes(data: Uint8Array, length: number): number {
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    case 3:
      h ^= data[whole + 2]! << 16;
    // falls through
    case 2:
      h ^= data[whole + 1]! << 8;
    // falls through
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Drop-in for `Partitioners.DefaultPartitioner`: the same partition for every message. */
export const KeyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key === null || message.key === undefined) return fallback(args);
    return (murmur2(message.key) & 0x7fffffff) % partitionMetadata.length;
  };
};

/**
 * What every producer of the pipeline is: idempotent with one request in flight (records of a key
 * keep their order through retries), never creating topics (`stack up` and `start` own their
 * settings), partitioned as kafkajs's default. Spread it and add what a producer needs besides.
 */
export const ORDERED_PRODUCER = { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: KeyPartitioner } as const satisfies ProducerConfig;
