import type { Kafka } from 'kafkajs';
import type { Config } from '../../../core/config.js';
import { topicsFor } from '../../../core/topics.js';
import type { DataKeySource } from '../../../core/keys/keyring.js';
import { EventProducer } from '../../../producers/event-producer.js';
import type { AnyEvent } from '../../../schemas/events.js';
import { encodeEvent } from '../../../schemas/codec.js';
import { fixture } from '../../support/fixtures.js';

/**
 * Produces events in order with the batching EventProducer: control first, then emails. With
 * `keys` the email events are sealed with their org's data key, as the API and `produce` write
 * them; without, in clear, as a producer from before encryption did.
 */
export async function produceEvents(kafka: Kafka, config: Config, events: readonly AnyEvent[], chunk = 20_000, keys?: DataKeySource): Promise<void> {
  const producer = new EventProducer(kafka, topicsFor(config), { lingerMs: 5, maxBatch: 5000, ...(keys ? { keys, suppressionSecret: config.suppressionSecret } : {}) });
  await producer.connect();
  try {
    for (let at = 0; at < events.length; at += chunk) await producer.sendAll(events.slice(at, at + chunk));
  } finally {
    await producer.disconnect();
  }
}

/** Records no reader can accept, each with the dlq.code it must get. */
export function garbageRecords(): Array<{ key: string; value: Buffer; code: string }> {
  const valid = encodeEvent(fixture('EmailOpened', { orgId: 'garbage-org' }));
  const unknownFingerprint = Buffer.from(valid);
  unknownFingerprint.writeUInt32LE(0xdeadbeef, 2);
  const truncated = valid.subarray(0, valid.length - 5);
  const control = encodeEvent(fixture('OrgEngagementEnabled', { orgId: 'garbage-org' }));
  const ancient = encodeEvent(fixture('EmailOpened', { orgId: 'garbage-org', occurredAt: Date.UTC(1990, 0, 1) }));
  return [
    { key: 'garbage/1', value: Buffer.from('not avro at all'), code: 'decode_failed' },
    { key: 'garbage/2', value: unknownFingerprint, code: 'decode_failed' },
    { key: 'garbage/3', value: truncated, code: 'decode_failed' },
    { key: 'garbage/4', value: control, code: 'validation_failed' },
    { key: 'garbage/5', value: ancient, code: 'validation_failed' },
  ];
}

export async function produceRaw(kafka: Kafka, topic: string, records: ReadonlyArray<{ key: string; value: Buffer }>): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
  } finally {
    await producer.disconnect();
  }
}
