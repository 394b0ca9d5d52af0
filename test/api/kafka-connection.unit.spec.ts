import { describe, expect, it } from 'vitest';
import { connectInBackground, STARTING_GRACE_MS } from '../../api/kafka-connection.js';
import { EngagementError } from '../../core/errors.js';

const BROKERS = ['127.0.0.1:1'];

describe('connectInBackground: the API reaching Kafka after it listens', () => {
  it('is starting, then ready once the start resolves', async () => {
    let finish: () => void = () => undefined;
    const connection = connectInBackground(() => new Promise<void>((resolve) => (finish = resolve)), BROKERS);
    expect(connection.starting()).toBe(true);
    expect(connection.ready()).toBe(false);
    finish();
    await connection.reached();
    expect(connection.ready()).toBe(true);
    expect(connection.starting()).toBe(false);
    expect(connection.refused()).toBe(false);
  });

  it('stops trying on a refusal and says so (not starting, not ready, refused)', async () => {
    let attempts = 0;
    const connection = connectInBackground(async () => {
      attempts++;
      throw new EngagementError('config_invalid', 'TOPIC_AUTHORIZATION_FAILED');
    }, BROKERS);
    await expect(connection.reached()).rejects.toThrow(/refused this API/);
    expect(attempts).toBe(1);
    expect(connection.refused()).toBe(true);
    expect(connection.starting()).toBe(false);
    expect(connection.ready()).toBe(false);
  });

  it('keeps trying through an outage, counts as down past the grace period, and stops when told', async () => {
    let clock = 0;
    let attempts = 0;
    const connection = connectInBackground(
      async () => {
        attempts++;
        throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      },
      BROKERS,
      () => clock,
    );
    const outcome = connection.reached().then(
      () => 'reached',
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(attempts).toBe(1);
    expect(connection.starting()).toBe(true);
    clock = STARTING_GRACE_MS + 1;
    expect(connection.starting()).toBe(false);
    expect(connection.refused()).toBe(false);
    connection.stop();
    expect(await outcome).toMatch(/no longer wanted|stopped/);
    expect(connection.ready()).toBe(false);
  });
});
