import { describe, expect, it } from 'vitest';
import { fromThreadError, toThreadError } from '../../../producers/spool/spool-sender.js';

describe('errors crossing the sender thread', () => {
  it('keep the name, message, stack and the kafkajs fields a log or a retry decision reads', () => {
    const original = Object.assign(new Error('Request Produce(key: 0, version: 7) timed out', { cause: new TypeError('socket hang up') }), {
      name: 'KafkaJSRequestTimeoutError',
      type: 'REQUEST_TIMED_OUT',
      retriable: true,
    });
    const flat = toThreadError(original);
    const back = fromThreadError(structuredClone(flat)) as Error & { type?: string; retriable?: boolean; cause?: string };
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('KafkaJSRequestTimeoutError');
    expect(back.message).toBe(original.message);
    expect(back.stack).toBe(original.stack);
    expect(back.type).toBe('REQUEST_TIMED_OUT');
    expect(back.retriable).toBe(true);
    expect(back.cause).toBe('TypeError: socket hang up');
  });

  it('turn a thrown non-error into a message', () => {
    expect(fromThreadError(toThreadError('boom')).message).toBe('boom');
  });
});
