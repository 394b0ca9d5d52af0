import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { topicsFor } from '../core/topics.js';
import { keysFor, type ProjectionVersion } from '../projections/keys.js';
import { readStoredOffsets } from '../projections/projector/apply-batch.js';
import { startOffsets, topicEnds, type From } from './offsets.js';
import { currentVersion, listedVersions, unfinishedReplay, type ReplayCheckpoint } from './versions.js';

/** `--dry-run`: what a replay would read, per partition, without writing anything. */
export interface ReplayPlan {
  current: ProjectionVersion;
  version: ProjectionVersion;
  resume: ReplayCheckpoint | null;
  from: string;
  partitions: Array<{ partition: number; from: number; to: number; records: number }>;
  records: number;
}

export async function planReplay(deps: { config: Config; kafka: Kafka; redis: Redis }, from: From): Promise<ReplayPlan> {
  const keys = keysFor(deps.config.redisPrefix);
  const topic = topicsFor(deps.config).emails;
  const current = await currentVersion(deps.redis, keys);
  const resume = await unfinishedReplay(deps.redis, keys);
  const version = resume?.version ?? Math.max(current, ...(await listedVersions(deps.redis, keys))) + 1;
  const effective: From = resume ? (resume.from === 'earliest' ? 'earliest' : Date.parse(resume.from)) : from;
  const stored = resume ? await readStoredOffsets(deps.redis, keys.version(resume.version).offsets(topic)) : new Map<number, number>();
  const admin = deps.kafka.admin();
  await admin.connect();
  try {
    const start = await startOffsets(admin, topic, effective, stored);
    const ends = await topicEnds(admin, topic);
    const partitions = [...start]
      .sort(([a], [b]) => a - b)
      .map(([partition, at]) => ({ partition, from: at, to: ends.get(partition) ?? at, records: Math.max(0, (ends.get(partition) ?? at) - at) }));
    return {
      current,
      version,
      resume,
      from: effective === 'earliest' ? 'earliest' : new Date(effective).toISOString(),
      partitions,
      records: partitions.reduce((sum, p) => sum + p.records, 0),
    };
  } finally {
    await admin.disconnect();
  }
}
