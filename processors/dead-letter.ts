/**
 * Dead letters: the original bytes and key, with headers saying where the record came from and
 * why it was refused. Produced with acks=all and awaited BEFORE the batch's offsets move, so a
 * crash can duplicate a dead letter but never lose one. Only the projector group dead-letters
 * (one copy per bad record); the lander skips what it can't decode.
 */

import type { IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { childLogger } from '../core/logger.js';
import type { RejectedRecord } from './decode-records.js';
import { metrics } from './metrics.js';

const log = childLogger('dead-letter');

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
    await this.producer.send({ topic: this.topic, acks: -1, messages: records.map((r) => deadLetterMessage(r, source)) });
    for (const record of records) {
      metrics.deadLettered.inc({ code: record.error.code });
      log.warn({ ...source, offset: record.offset, code: record.error.code, reason: record.error.message }, 'record dead-lettered');
    }
  }
}
