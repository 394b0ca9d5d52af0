/**
 * Dead letters: the original bytes and key, with headers saying where the record came from and
 * why it was refused. Produced with acks=all and awaited BEFORE the batch's offsets move, so a
 * crash can duplicate a dead letter but never lose one. Only the projector group dead-letters
 * (one copy per bad record); the lander skips what it can't decode.
 */

import type { IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { childLogger } from '../core/logger.js';
import { recordSlices } from '../core/record-slices.js';
import type { RejectedRecord } from './decode-records.js';
import { metrics } from './metrics.js';

const log = childLogger('dead-letter');

/**
 * A broker refuses a record batch larger than its message.max.bytes (1 MiB by default), and one
 * send puts a whole batch's dead letters for a partition into one record batch: they go in sends
 * of at most this many bytes (the projector fetches up to 4 MiB per partition).
 */
export const DEAD_LETTER_SEND_BYTES = 512 * 1024;
/** a record's own framing in its batch, roughly (lengths, offsets, timestamp deltas) */
const RECORD_OVERHEAD_BYTES = 32;

const bytesOf = (value: string | Buffer | null | undefined): number => (value == null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length);

/** A dead letter's size in its record batch, headers included. Pure. */
export function deadLetterBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + bytesOf(message.key) + bytesOf(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += bytesOf(name);
    for (const part of Array.isArray(value) ? value : [value]) bytes += bytesOf(part);
  }
  return bytes;
}

export interface DeadLetterSource {
  topic: string;
  partition: number;
  group: string;
}

export function deadLetterMessage(record: RejectedRecord, source: DeadLetterSource): Message {
  const headers: IHeaders = {
    'dlq.reason': record.error.message.slice(0, 1000),
    'dlq.code': record.error.code,
    'dlq.topic': source.topic,
    'dlq.partition': String(source.partition),
    'dlq.offset': String(record.offset),
    'dlq.group': source.group,
  };
  return { key: record.message.key ?? null, value: record.message.value ?? null, headers };
}

export class DeadLetterWriter {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(records: readonly RejectedRecord[], source: DeadLetterSource): Promise<void> {
    if (records.length === 0) return;
    const messages = records.map((r) => deadLetterMessage(r, source));
    for (const slice of recordSlices(messages, DEAD_LETTER_SEND_BYTES, deadLetterBytes)) {
      await this.producer.send({ topic: this.topic, acks: -1, messages: slice });
    }
    for (const record of records) {
      metrics.deadLettered.inc({ code: record.error.code });
      log.warn({ ...source, offset: record.offset, code: record.error.code, reason: record.error.message }, 'record dead-lettered');
    }
  }
}
