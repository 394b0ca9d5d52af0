/**
 * How the readers that start a process (keyring, control reader, projector, replay, retention)
 * read a topic's offsets (ListOffsets). kafkajs's admin retries only an unknown
 * topic and raises anything else at once, so a read right after the topic was created fails with
 * NOT_LEADER_FOR_PARTITION (or LEADER_NOT_AVAILABLE) while the new partitions' leadership settles,
 * which `waitForLeaders` does not wait out; so does a read during a broker restart. Here every
 * failure kafkajs calls retriable is retried with backoff until a deadline, then raised as a
 * `kafka_unavailable` EngagementError naming the topic; anything else is raised at once, as one.
 */

import type { Admin } from 'kafkajs';
import { kafkaError, SETTLE_RETRY } from './kafka.js';
import { childLogger } from './logger.js';
import { withRetry } from './retry.js';

const log = childLogger('topic-offsets');

export interface PartitionOffsets {
  partition: number;
  /** the log start: the first offset still on the partition */
  low: number;
  /** the end: the offset the next record gets */
  high: number;
}

export interface OffsetReadOptions {
  /** default SETTLE_RETRY.deadlineMs */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Every partition's log start and end. */
export async function readTopicOffsets(admin: Pick<Admin, 'fetchTopicOffsets'>, topic: string, options: OffsetReadOptions = {}): Promise<PartitionOffsets[]> {
  const read = async (): Promise<PartitionOffsets[]> =>
    (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  return retryOffsetRead(`reading the offsets of topic ${topic}`, read, options);
}

/** Per partition, the first offset at or after `timestamp` (-1: every record is older). */
export async function readOffsetsAtTime(admin: Pick<Admin, 'fetchTopicOffsetsByTimestamp'>, topic: string, timestamp: number, options: OffsetReadOptions = {}): Promise<Map<number, number>> {
  const read = async (): Promise<Map<number, number>> =>
    new Map((await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)).map((o) => [o.partition, Number(o.offset)]));
  return retryOffsetRead(`reading the offsets of topic ${topic} at ${new Date(timestamp).toISOString()}`, read, options);
}

/** Per partition, its end. */
export function endsOf(offsets: readonly PartitionOffsets[]): Map<number, number> {
  return new Map(offsets.map((o) => [o.partition, o.high]));
}

/** Per non-empty partition, its end: what a reader must reach to have read everything. */
export function nonEmptyEndsOf(offsets: readonly PartitionOffsets[]): Map<number, number> {
  return new Map(offsets.filter((o) => o.high > 0).map((o) => [o.partition, o.high]));
}

/** Per partition, its log start. */
export function startsOf(offsets: readonly PartitionOffsets[]): Map<number, number> {
  return new Map(offsets.map((o) => [o.partition, o.low]));
}

async function retryOffsetRead<T>(what: string, read: () => Promise<T>, options: OffsetReadOptions): Promise<T> {
  return withRetry(
    async () => {
      try {
        return await read();
      } catch (error) {
        throw kafkaError(error, what);
      }
    },
    {
      backoff: SETTLE_RETRY.backoff,
      deadlineMs: options.deadlineMs ?? SETTLE_RETRY.deadlineMs,
      onRetry: (error, attempt, delayMs) => log.debug({ err: error, attempt, delayMs }, `${what}: retrying`),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.now ? { now: options.now } : {}),
    },
  );
}
