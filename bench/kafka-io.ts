/** Kafka helpers of the bench: fast raw produce, topic ends, and reading a topic to its end. */

import { type Kafka } from 'kafkajs';
import { endsOf, readTopicOffsets } from '../core/topic-offsets.js';
import { EventCodec } from '../schemas/codec.js';
import type { RawRecord } from './workload.js';
import { KeyPartitioner } from '../core/kafka-partitioner.js';

export async function produceRaw(kafka: Kafka, topic: string, records: readonly RawRecord[], onProgress?: (done: number) => void): Promise<void> {
  const producer = kafka.producer({ createPartitioner: KeyPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const CHUNK = 10_000;
    const IN_FLIGHT = 4;
    const pending = new Set<Promise<unknown>>();
    for (let at = 0; at < records.length; at += CHUNK) {
      const p = producer.send({ topic, acks: -1, messages: records.slice(at, at + CHUNK) as RawRecord[] }).then(() => {
        pending.delete(p);
        onProgress?.(Math.min(records.length, at + CHUNK));
      });
      pending.add(p);
      if (pending.size >= IN_FLIGHT) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await producer.disconnect();
  }
}

export async function topicEnds(kafka: Kafka, topic: string): Promise<{ total: number; byPartition: Map<number, number> }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const byPartition = endsOf(await readTopicOffsets(admin, topic));
    return { total: [...byPartition.values()].reduce((s, v) => s + v, 0), byPartition };
  } finally {
    await admin.disconnect();
  }
}

export interface ConsumeResult {
  records: number;
  decoded: number;
  /** wall time from the first batch handed to eachBatch to the last record counted */
  steadyMs: number;
  /** wall time from run() to the first batch (group join, metadata, first fetch) */
  joinMs: number;
}

/**
 * The DESIGN §8 baseline: a bare kafkajs consumer in its own group that only decodes each
 * record's Avro (EventCodec.decode) and counts, until it has seen `total` records.
 */
export async function bareDecodeConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  total: number,
  consumerOptions: Record<string, number> = {},
  visit?: (event: ReturnType<EventCodec['decode']>) => void,
): Promise<ConsumeResult> {
  const codec = new EventCodec();
  const consumer = kafka.consumer({ groupId, ...consumerOptions });
  let records = 0;
  let decoded = 0;
  let first = 0;
  let last = 0;
  const runAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          partitionsConsumedConcurrently: consumerOptions.partitionsConsumedConcurrently ?? 1,
          eachBatch: async ({ batch }) => {
            if (first === 0) first = Date.now();
            for (const message of batch.messages) {
              records++;
              try {
                const event = codec.decode(message.value!);
                decoded++;
                visit?.(event);
              } catch {
                // garbage: counted, not decoded
              }
            }
            last = Date.now();
            if (records >= total) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { records, decoded, steadyMs: last - first, joinMs: first - runAt };
}
