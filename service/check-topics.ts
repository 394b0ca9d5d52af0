import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';
import { createKafka, isRefusal } from '../core/kafka.js';
import { configValues, describeTopicConfigs } from '../core/topic-configs.js';
import { formatShortfall, retentionContract, retentionShortfalls, type RetentionShortfall } from '../core/topic-retention.js';
import { topicsFor } from '../core/topics.js';

/**
 * Fails fast, naming them, when the topics this instance needs do not exist (nothing auto-creates
 * them) or keep less than the retention contract (DESIGN.md §3): a log shorter than the
 * projection's horizon would make a replay silently lose what the live projection still holds.
 * Run by `engagement start` and `engagement replay`, on any cluster.
 */
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
    const contract = retentionContract(topicsFor(config), config.historyDays);
    const described = await describeTopicConfigs(admin, contract.map((c) => c.topic));
    const shortfalls = retentionShortfalls(contract, configValues(described));
    if (shortfalls.length > 0) throw retentionError(config, shortfalls);
  } catch (error) {
    if (error instanceof EngagementError) throw error;
    if (isRefusal(error)) {
      throw new EngagementError('config_invalid', `Kafka at ${config.kafkaBrokers.join(',')} refused us: ${(error as Error).message}`, { cause: error });
    }
    throw new EngagementError('kafka_unavailable', `cannot reach Kafka at ${config.kafkaBrokers.join(',')}: ${(error as Error).message}`, {
      cause: error,
      retriable: true,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function retentionError(config: Config, shortfalls: RetentionShortfall[]): EngagementError {
  const emails = topicsFor(config).emails;
  const horizonHint = shortfalls.some((s) => s.topic === emails && s.setting === 'retention.ms')
    ? ` or lower HISTORY_DAYS (now ${config.historyDays}) to what the emails topic keeps minus 7 days`
    : '';
  return new EngagementError(
    'config_invalid',
    `Kafka at ${config.kafkaBrokers.join(',')} keeps less than the retention contract (DESIGN.md §3, README "Retention contract"):\n` +
      shortfalls.map((s) => `  - ${formatShortfall(s)}\n`).join('') +
      `Raise the retention (\`npx engagement stack up\` does it on the local stack; elsewhere kafka-configs --alter or the provider's console)${horizonHint}.`,
    { details: { shortfalls } },
  );
}
