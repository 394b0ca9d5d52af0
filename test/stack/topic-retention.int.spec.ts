import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { describeTopicConfigs } from '../../core/topic-configs.js';
import { DAY_MS, KEYS_TOPIC_CONFIGS } from '../../core/topic-retention.js';
import { topicsFor } from '../../core/topics.js';
import { ensureTopics } from '../../stack/index.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';

/** `stack up`'s topics on the real broker: created with the retention contract, raised when short. */
describe('stack up: topic retention (DESIGN.md §3)', () => {
  const configs: Config[] = [];
  let admin: Admin;
  const fresh = (env: Record<string, string> = {}): Config => {
    const config = testConfig({ KAFKA_PARTITIONS: '1', ...env });
    configs.push(config);
    return config;
  };
  const settings = async (topic: string): Promise<Record<string, { value: string; override: boolean }>> =>
    Object.fromEntries((await describeTopicConfigs(admin, [topic])).get(topic)!);

  beforeAll(async () => {
    admin = createKafka(fresh()).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    for (const config of configs) await cleanupTestResources(config);
  });

  it('creates control never trimmed, emails HISTORY_DAYS + 7 days, deadletter 30 days', async () => {
    const config = fresh({ HISTORY_DAYS: '83' });
    const topics = topicsFor(config);
    const ensured = await ensureTopics(config);
    expect(ensured).toEqual({ topics: [topics.control, topics.emails, topics.deadletter, topics.keys], raised: [], shortfalls: [] });
    const keys = await settings(topics.keys);
    for (const [name, value] of Object.entries(KEYS_TOPIC_CONFIGS)) expect([name, keys[name]?.value]).toEqual([name, value]);
    expect(await settings(topics.control)).toMatchObject({ 'retention.ms': { value: '-1' }, 'retention.bytes': { value: '-1' } });
    expect(await settings(topics.emails)).toMatchObject({ 'retention.ms': { value: String(90 * DAY_MS) }, 'retention.bytes': { value: '-1' } });
    expect(await settings(topics.deadletter)).toMatchObject({ 'retention.ms': { value: String(30 * DAY_MS) } });
  });

  it('turns an existing keys topic with a delete policy compacted, with the shredding bound settings', async () => {
    const config = fresh();
    const topics = topicsFor(config);
    await createTestTopics(config, 1, { keys: { 'cleanup.policy': 'delete' } });
    const ensured = await ensureTopics(config);
    expect(ensured.raised.map((s) => [s.topic, s.setting, s.actual])).toEqual([[topics.keys, 'cleanup.policy', 'delete']]);
    const keys = await settings(topics.keys);
    for (const [name, value] of Object.entries(KEYS_TOPIC_CONFIGS)) expect([name, keys[name]?.value]).toEqual([name, value]);
  });

  it('raises a shorter retention of existing topics on the local stack, keeping their other settings', async () => {
    const config = fresh();
    const topics = topicsFor(config);
    const week = String(7 * DAY_MS);
    await createTestTopics(config, 1, {
      control: { 'retention.ms': week },
      emails: { 'retention.ms': week, 'max.message.bytes': '2000000' },
      deadletter: { 'retention.ms': String(DAY_MS) },
    });

    const ensured = await ensureTopics(config);
    expect(ensured.raised.map((s) => [s.topic, s.setting, s.actual, s.required])).toEqual([
      [topics.control, 'retention.ms', week, -1],
      [topics.emails, 'retention.ms', week, 407 * DAY_MS],
      [topics.deadletter, 'retention.ms', String(DAY_MS), 30 * DAY_MS],
    ]);
    expect(await settings(topics.control)).toMatchObject({ 'retention.ms': { value: '-1', override: true } });
    expect(await settings(topics.emails)).toMatchObject({
      'retention.ms': { value: String(407 * DAY_MS), override: true },
      'retention.bytes': { value: '-1' },
      'max.message.bytes': { value: '2000000', override: true },
    });
    expect(await settings(topics.deadletter)).toMatchObject({ 'retention.ms': { value: String(30 * DAY_MS) } });
    expect((await ensureTopics(config)).raised).toEqual([]);
  });

  it('on a cluster it does not own, only reports the shortfall', async () => {
    const config = fresh();
    const topics = topicsFor(config);
    await createTestTopics(config, 1, { emails: { 'retention.ms': String(7 * DAY_MS) } });
    const ensured = await ensureTopics(config, { raiseRetention: false });
    expect(ensured.raised).toEqual([]);
    expect(ensured.shortfalls.map((s) => [s.topic, s.setting])).toEqual([[topics.emails, 'retention.ms']]);
    expect((await settings(topics.emails))['retention.ms']?.value).toBe(String(7 * DAY_MS));
  });
});
