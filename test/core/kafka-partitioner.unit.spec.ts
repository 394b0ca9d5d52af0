import { createRequire } from 'node:module';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyPartitioner, murmur2 } from '../../core/kafka-partitioner.js';
import { seededRandom } from '../../core/seeded-random.js';

// kafkajs's own Long-based murmur2, the reference this one must equal
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

const metadata = (n: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

function randomKeys(count: number): Array<Buffer | string> {
  const rand = seededRandom(14);
  const keys: Array<Buffer | string> = [];
  for (let i = 0; i < count; i++) {
    const length = Math.floor(rand() * 70);
    const bytes = Buffer.alloc(length);
    for (let j = 0; j < length; j++) bytes[j] = Math.floor(rand() * 256);
    keys.push(i % 3 === 0 ? `org-${i}/email-${bytes.toString('hex')}-é€𝄞` : bytes);
  }
  return keys;
}

describe('the key partitioner (core/kafka-partitioner.ts)', () => {
  it("hashes every key as kafkajs's murmur2 does, at every length and byte value", () => {
    const keys = [...randomKeys(5000), '', 'x'.repeat(300) + 'é', Buffer.alloc(0), Buffer.from([0xff]), Buffer.from([0x80, 0x80, 0x80]), Buffer.alloc(64, 0xff)];
    for (const key of keys) expect(murmur2(key), String(key)).toBe(kafkajsMurmur2(key));
  });

  it('hashes what kafkajs would send for keys of other kinds: their text (numbers, typed arrays, lone surrogates)', () => {
    const keys: unknown[] = [123, -7, 0, new Uint8Array([1, 2, 3]), '\ud800', 'a\udc00b', '\ud83d\ude00', 'nul\u0000', 'é'.repeat(200)];
    for (const key of keys) expect(murmur2(key), String(key)).toBe(kafkajsMurmur2(key as string));
  });

  it("chooses the partition kafkajs's DefaultPartitioner chooses, for every key and partition count", () => {
    const ours = KeyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 7, 12, 50]) {
      const partitionMetadata = metadata(n);
      for (const key of randomKeys(1000)) {
        const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
        expect(ours(args)).toBe(theirs(args));
      }
    }
  });

  it('keeps a partition the message names (0 included), and spreads keyless messages over the partitions with a leader', () => {
    const ours = KeyPartitioner();
    const partitionMetadata = metadata(4);
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 3 } })).toBe(3);
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 0 } })).toBe(0);
    const leaderless = metadata(4).map((p) => (p.partitionId === 2 ? { ...p, leader: -1 } : p));
    const spread = new Set<number>();
    for (let i = 0; i < 12; i++) spread.add(ours({ topic: 'u', partitionMetadata: leaderless, message: { value: 'v' } }));
    expect([...spread].sort()).toEqual([0, 1, 3]);
    // a keyed message goes by its hash whatever the leaders, as kafkajs's does
    const theirs = Partitioners.DefaultPartitioner();
    for (const key of randomKeys(200)) expect(ours({ topic: 'u', partitionMetadata: leaderless, message: { key, value: 'v' } })).toBe(theirs({ topic: 'u', partitionMetadata: leaderless, message: { key, value: 'v' } }));
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) seen.add(ours({ topic: 't', partitionMetadata, message: { value: 'v' } }));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
