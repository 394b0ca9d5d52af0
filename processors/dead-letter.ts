/**
 * Dead letters: the original bytes and key, with headers saying where the record came from and
 * why it was refused. Produced with acks=all and awaited BEFORE the batch's offsets move, so a
 * crash can duplicate a dead letter but never lose one. Only the projector group dead-letters
 * (one copy per bad record); the lander skips what it can't decode.
 */

import type { IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { ORDERED_PRODUCER } from '../core/kafka-partitioner.js';
import { childLogger } from '../core/logger.js';
import { RECORD_FRAMING_BYTES, recordSlices, SEND_BATCH_BYTES } from '../core/record-slices.js';
import type { RejectedRecord } from './decode-records.js';
import { metrics } from './metrics.js';

const log = childLogger('dead-letter');

/** A batch's dead letters for a partition (the projector fetches up to 4 MiB of it) go in sends of at most this many bytes. */
export const DEAD_LETTER_SEND_BYTES = SEND_BATCH_BYTES;

const bytesOf = (value: string | Buffer | null | undefined): number => (value == null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length);

/** A dead letter's size in its record batch, headers included. Pure. */
export function deadLetterBytes(message: Message): number {
  let bytes = RECORD_FRAMING_BYTES + bytesOf(message.key) + bytesOf(message.value);
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

/** Offsets remembered per source partition (the records a batch read again must not be dead-lettered twice). */
const SENT_REMEMBERED = 10_000;

export class DeadLetterWriter {
  private readonly producer: Producer;
  /**
   * The source offsets this writer has dead-lettered, per source partition and group: a batch that
   * is read again (a replay's hold, a fence, the runs after a partial apply) sends its dead letters
   * again, and each would be one more record on the topic and on the operations page. A restart
   * forgets them (a crash may still duplicate one, never lose one).
   */
  private readonly sent = new Map<string, Set<number>>();

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer(ORDERED_PRODUCER);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(records: readonly RejectedRecord[], source: DeadLetterSource): Promise<void> {
    const key = `${source.group}\u0000${source.topic}\u0000${source.partition}`;
    let sent = this.sent.get(key);
    if (!sent) this.sent.set(key, (sent = new Set()));
    const fresh = records.filter((r) => !sent.has(r.offset));
    if (fresh.length === 0) return;
    const messages = fresh.map((r) => deadLetterMessage(r, source));
    for (const slice of recordSlices(messages, DEAD_LETTER_SEND_BYTES, deadLetterBytes)) {
      await this.producer.send({ topic: this.topic, acks: -1, messages: slice });
    }
    for (const record of fresh) sent.add(record.offset);
    // the oldest first (a Set iterates in insertion order): a partition read again goes back a batch or two
    for (const offset of sent) {
      if (sent.size <= SENT_REMEMBERED) break;
      sent.delete(offset);
    }
    for (const record of fresh) {
      metrics.deadLettered.inc({ code: record.error.code });
      log.warn({ ...source, offset: record.offset, code: record.error.code, reason: record.error.message }, 'record dead-lettered');
    }
  }
}
