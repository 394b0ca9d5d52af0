import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EngagementError } from '../../core/errors.js';
import { isRefusal } from '../../core/kafka.js';

// kafkajs's typings declare these constructors without their arguments
const sasl = (message: string): Error => new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)(message);
const protocol = (e: { message: string; type: string; code: number; retriable: boolean }): Error => new (KafkaJSProtocolError as unknown as new (e: object) => Error)(e);

describe('isRefusal: what no retry of a Kafka connection fixes', () => {
  it('is a refusal for bad credentials, ACLs and an invalid configuration, however deep the cause', () => {
    expect(isRefusal(sasl('bad password'))).toBe(true);
    expect(isRefusal(protocol({ message: 'denied', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false }))).toBe(true);
    expect(isRefusal(new EngagementError('config_invalid', 'no such topic'))).toBe(true);
    const wrapped = new EngagementError('kafka_unavailable', 'reading offsets', { cause: sasl('bad password'), retriable: true });
    expect(isRefusal(new AggregateError([new Error('timeout'), wrapped], 'two pieces failed'))).toBe(true);
  });

  it('is not a refusal for Kafka being down or stalled, even when kafkajs gave up its own retries', () => {
    const refused = new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
    expect(isRefusal(refused)).toBe(false);
    expect(isRefusal(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 8, retryTime: 5000 }))).toBe(false);
    expect(isRefusal(new Error('Broker not connected'))).toBe(false);
    expect(isRefusal(new EngagementError('kafka_unavailable', 'reading the offsets', { cause: new Error('Request timed out'), retriable: false }))).toBe(false);
    expect(isRefusal(new AggregateError([new Error('Broker not connected'), refused], 'two pieces failed'))).toBe(false);
  });
});
