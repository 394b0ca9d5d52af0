import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';
import { createKafka } from '../core/kafka.js';
import { topicsFor } from '../core/topics.js';

/** Fails fast, naming them, when the topics this instance needs do not exist (nothing auto-creates them). */
export async function checkTopics(config: Config): Promise<void> {
  const admin = createKafka(config).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = Object.values(topicsFor(config)).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new EngagementError(
        'config_invalid',
        `Kafka at ${config.kafkaBrokers.join(',')} has no topic ${missing.join(', ')}: ` +
          'run `npx engagement stack up` for the local stack, or create them (keys and partitions: README, DESIGN.md §3)',
      );
    }
  } catch (error) {
    if (error instanceof EngagementError) throw error;
    throw new EngagementError('kafka_unavailable', `cannot reach Kafka at ${config.kafkaBrokers.join(',')}: ${(error as Error).message}`, {
      cause: error,
      retriable: true,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
