import kafkajs, { type Admin } from 'kafkajs';
import { EngagementError } from './errors.js';

// Node's CommonJS named-export detection stops before these two in kafkajs' index.js.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/**
 * Topic configs as the cluster describes them (DescribeConfigs), and the one write of them
 * (AlterConfigs). The decisions are pure (core/topic-retention.ts); only this talks to Kafka.
 */
export interface DescribedConfig {
  value: string;
  /** set on the topic itself (not a broker or built-in default) */
  override: boolean;
}

export type TopicConfigs = Map<string, Map<string, DescribedConfig>>;

export async function describeTopicConfigs(admin: Admin, topics: readonly string[]): Promise<TopicConfigs> {
  const response = await admin.describeConfigs({
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    includeSynonyms: false,
  });
  const described: TopicConfigs = new Map();
  for (const resource of response.resources) {
    if (resource.errorCode !== 0) {
      throw new EngagementError('kafka_unavailable', `cannot describe the configs of topic ${resource.resourceName}: ${resource.errorMessage || `error ${resource.errorCode}`}`);
    }
    described.set(
      resource.resourceName,
      new Map(
        resource.configEntries
          // a sensitive value is not sent (null): nothing to compare or write back
          .filter((e) => e.configValue !== null)
          .map((e) => [e.configName, { value: e.configValue, override: e.configSource === ConfigSource.TOPIC_CONFIG }]),
      ),
    );
  }
  return described;
}

/** topic -> name -> value, the shape the pure comparison reads. */
export function configValues(described: TopicConfigs): Map<string, Map<string, string>> {
  return new Map([...described].map(([topic, configs]) => [topic, new Map([...configs].map(([name, c]) => [name, c.value]))]));
}

/**
 * Sets `changes` on `topic`. AlterConfigs (the only config write kafkajs has) replaces every
 * topic-level override, so the topic's other overrides are written back unchanged.
 */
export async function alterTopicConfigs(admin: Admin, topic: string, current: ReadonlyMap<string, DescribedConfig>, changes: ReadonlyMap<string, string>): Promise<void> {
  const entries = new Map<string, string>();
  for (const [name, config] of current) if (config.override) entries.set(name, config.value);
  for (const [name, value] of changes) entries.set(name, value);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [...entries].map(([name, value]) => ({ name, value })) }],
  });
}
