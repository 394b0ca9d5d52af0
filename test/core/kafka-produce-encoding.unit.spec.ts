import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32c } from '../../core/crc32c.js';
import { encodeProduceRequest, type ProduceMessage, type ProduceTopic } from '../../core/kafka-produce-encoding.js';
import { fastProduceCounts, fastProduceRequest, groupMessagesPerPartition } from '../../core/kafkajs-fast-produce.js';
import { seededRandom, type Rand } from '../../core/seeded-random.js';

// kafkajs's own modules: the references these must equal
const require = createRequire(import.meta.url);
const kafkajsRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as Parameters<typeof fastProduceRequest>[0];
const kafkajsV7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as Parameters<typeof fastProduceRequest>[0];
const Encoder = require('kafkajs/src/protocol/encoder.js') as Parameters<typeof fastProduceRequest>[1];
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (bytes: Buffer) => number;
const kafkajsGroup = require('kafkajs/src/producer/groupMessagesPerPartition.js') as typeof groupMessagesPerPartition;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): { value: bigint } };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

const NOW = 1_764_300_000_000;

async function kafkajsBytes(args: Parameters<Parameters<typeof fastProduceRequest>[0]>[0], module = kafkajsRequest): Promise<Buffer> {
  const encoder = (await module(args).encode()) as { buffer: Buffer };
  return encoder.buffer;
}

function randomBytes(rand: Rand, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes;
}

function randomMessage(rand: Rand, i: number): ProduceMessage {
  const pick = rand();
  const key = pick < 0.05 ? '' : pick < 0.1 ? null : pick < 0.4 ? `org-${i}/é€𝄞-${Math.floor(rand() * 1e6)}` : randomBytes(rand, Math.floor(rand() * 40));
  const size = rand() < 0.05 ? 20_000 + Math.floor(rand() * 5_000) : Math.floor(rand() * 400);
  const value = rand() < 0.05 ? null : rand() < 0.2 ? 'ü'.repeat(size) : randomBytes(rand, size);
  const t = rand();
  // text as the spool sends them, numbers, none (Date.now()), and text of other lengths (kafkajs sorts it as text)
  // 0: falsy, so kafkajs takes Date.now() for the record's delta but 0 for the batch's first timestamp
  const timestamp = t < 0.6 ? String(NOW + Math.floor(rand() * 60_000)) : t < 0.8 ? NOW - Math.floor(rand() * 1e6) : t < 0.88 ? undefined : t < 0.9 ? 0 : String(Math.floor(rand() * 100_000));
  return { key, value, ...(timestamp === undefined ? {} : { timestamp }) };
}

function randomTopics(rand: Rand): ProduceTopic[] {
  return Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, t) => ({
    topic: `bench-${t}.tracking.é`,
    partitions: Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, p) => ({
      // kafkajs hands partitions over as the keys of an object: text
      partition: (rand() < 0.5 ? String(p * 3) : p * 3) as number,
      firstSequence: Math.floor(rand() * 1e6),
      messages: Array.from({ length: 1 + Math.floor(rand() * (rand() < 0.2 ? 600 : 20)) }, (_, i) => randomMessage(rand, i)),
    })),
  }));
}

describe('the Produce request encoding (core/kafka-produce-encoding.ts)', () => {
  afterEach(() => vi.useRealTimers());

  it("writes what kafkajs's own encoder writes, byte for byte, for random requests", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const rand = seededRandom(21);
    for (let run = 0; run < 60; run++) {
      const args = {
        acks: run % 3 === 0 ? 1 : -1,
        timeout: 30_000 + run,
        transactionalId: run % 5 === 0 ? `tx-${run}-ß` : undefined,
        producerId: run % 4 === 0 ? undefined : Long.fromValue(BigInt(Math.floor(rand() * 2 ** 40))),
        producerEpoch: run % 4 === 0 ? undefined : Math.floor(rand() * 30_000),
        topicData: randomTopics(rand),
      };
      const ours = encodeProduceRequest({ acks: args.acks, timeout: args.timeout, transactionalId: args.transactionalId ?? null, producerId: args.producerId ?? -1, producerEpoch: args.producerEpoch ?? 0, topicData: args.topicData });
      expect(ours, `run ${run}`).not.toBeNull();
      expect(ours!.equals(await kafkajsBytes(args)), `run ${run}`).toBe(true);
    }
  });

  it("sends what kafkajs's v3 request sends once installed: the same bytes, kafkajs's for what it does not take", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const rand = seededRandom(7);
    const counts = { ...fastProduceCounts };
    const fast = fastProduceRequest(kafkajsRequest, Encoder);
    const topicData = randomTopics(rand);
    // the producer id as kafkajs's idempotent producer passes it: the broker's answer as decimal text
    const base = { acks: -1, timeout: 1000, producerId: '4242424242', producerEpoch: 3, topicData } as unknown as Parameters<typeof kafkajsRequest>[0];
    const fromFast = (await fast(base).encode()) as { buffer: Buffer };
    expect(fromFast.buffer.equals(await kafkajsBytes(base))).toBe(true);
    // compressed, or with headers: kafkajs's own encoder
    const gzip = { ...base, compression: Compression.GZIP };
    expect(((await fast(gzip).encode()) as { buffer: Buffer }).buffer.length).toBe((await kafkajsBytes(gzip)).length);
    const withHeaders = { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', headers: { h: 'x' }, timestamp: String(NOW) }] }] }] };
    expect(((await fast(withHeaders).encode()) as { buffer: Buffer }).buffer.equals(await kafkajsBytes(withHeaders))).toBe(true);
    expect(fastProduceCounts).toEqual({ fast: counts.fast + 1, kafkajs: counts.kafkajs + 2, failed: counts.failed });
  });

  it("is kafkajs's v7 request (v4 to v7 are built on v3's) once v3's module is the fast one", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const v3Path = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js');
    const laterPaths = [4, 5, 6, 7].map((v) => require.resolve(`kafkajs/src/protocol/requests/produce/v${v}/request.js`));
    const cached = require.cache[v3Path]!;
    const kept = { v3: cached.exports, later: laterPaths.map((p) => require.cache[p]) };
    const counts = { ...fastProduceCounts };
    try {
      // as installFastProduce does, but undone after: v4 to v7 are loaded again on top of the fast v3
      cached.exports = fastProduceRequest(kafkajsRequest, Encoder);
      for (const p of laterPaths) delete require.cache[p];
      const fastV7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as typeof kafkajsV7;
      const args = { acks: -1, timeout: 5, producerId: Long.fromValue(7n), producerEpoch: 1, topicData: randomTopics(seededRandom(9)) };
      const request = fastV7(args) as unknown as { apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
      expect(request.apiVersion).toBe(7);
      expect((await request.encode()).buffer.equals(await kafkajsBytes(args, kafkajsV7))).toBe(true);
      expect(fastProduceCounts.fast).toBe(counts.fast + 1);
    } finally {
      cached.exports = kept.v3;
      laterPaths.forEach((p, i) => (kept.later[i] ? (require.cache[p] = kept.later[i]) : delete require.cache[p]));
    }
  });

  it("falls back to kafkajs's encoder, and says so, when the fast one throws", async () => {
    const errors: unknown[] = [];
    const counts = { ...fastProduceCounts };
    // kafkajs's request module, its encode standing for "kafkajs encoded it"
    const kafkajsEncoded = { buf: Buffer.from('kafkajs'), offset: 7 };
    const original = ((args: unknown) => ({ args, encode: async () => kafkajsEncoded })) as unknown as Parameters<typeof fastProduceRequest>[0];
    const fast = fastProduceRequest(original, Encoder, (error) => errors.push(error));
    // a partition number past int32: the fast encoder's write throws
    const args = { acks: -1, timeout: 5, topicData: [{ topic: 't', partitions: [{ partition: 2 ** 33, messages: [{ key: 'k', value: 'v', timestamp: String(NOW) }] }] }] };
    expect(await fast(args).encode()).toBe(kafkajsEncoded);
    expect(errors).toEqual([expect.any(RangeError)]);
    expect(fastProduceCounts).toEqual({ fast: counts.fast, kafkajs: counts.kafkajs + 1, failed: counts.failed + 1 });
  });

  it('reads the clock once per partition, as kafkajs: a partition without timestamps has one time for the batch and its records', async () => {
    let clock = NOW;
    const now = () => clock++;
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    const topicData = [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }] }] }];
    const ours = encodeProduceRequest({ acks: -1, timeout: 1, transactionalId: null, producerId: -1, producerEpoch: 0, topicData }, now);
    expect(ours!.equals(await kafkajsBytes({ acks: -1, timeout: 1, topicData }))).toBe(true);
    expect(clock).toBe(NOW + 1);
  });

  it('leaves to kafkajs what is not the plain case: headers, keys of other kinds, timestamps that are not whole milliseconds, empty partitions', () => {
    const request = (messages: ProduceMessage[]) => ({ acks: -1, timeout: 1, transactionalId: null, producerId: -1, producerEpoch: 0, topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }] });
    expect(encodeProduceRequest(request([{ key: 'k', value: 'v', headers: { a: 'b' } }]))).toBeNull();
    expect(encodeProduceRequest(request([{ key: 12, value: 'v' }]))).toBeNull();
    expect(encodeProduceRequest(request([{ key: 'k', value: 'v', timestamp: '2026-11-28' }]))).toBeNull();
    expect(encodeProduceRequest(request([{ key: 'k', value: 'v', timestamp: 1.5 }]))).toBeNull();
    expect(encodeProduceRequest(request([]))).toBeNull();
    expect(encodeProduceRequest(request([{ key: 'k', value: 'v', headers: null }]))).toBeNull();
    expect(encodeProduceRequest(request([{ key: 'k', value: 'v', headers: {} }]))).not.toBeNull();
  });
});

describe('CRC-32C (core/crc32c.ts)', () => {
  it("equals kafkajs's at every length and offset", () => {
    const rand = seededRandom(3);
    const bytes = randomBytes(rand, 5000);
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4999, 5000]) {
      for (const start of [0, 1, 3, 8]) {
        if (start + length > bytes.length) continue;
        expect(crc32c(bytes, start, start + length), `${start}+${length}`).toBe(kafkajsCrc32C(bytes.subarray(start, start + length)));
      }
    }
    // the standard check value of CRC-32C
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

describe("grouping per partition (core/kafkajs-fast-produce.ts)", () => {
  it("groups as kafkajs does: the same partitions, each in the order given", () => {
    const rand = seededRandom(5);
    const messages = Array.from({ length: 2000 }, (_, i) => ({ key: String(i), n: Math.floor(rand() * 13) }));
    const partitionMetadata = Array.from({ length: 13 }, (_, partitionId) => ({ partitionId }));
    const partitioner = ({ message }: { message: unknown }) => (message as { n: number }).n;
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    expect(groupMessagesPerPartition(args)).toEqual(kafkajsGroup(args));
    expect(Object.keys(groupMessagesPerPartition(args))).toEqual(Object.keys(kafkajsGroup(args)));
    expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
  });
});
