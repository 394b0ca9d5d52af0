/**
 * Starts the processor roles of DESIGN §4 in this process. The gate runs inside each sink;
 * every role shares one control-topic reader (its history is what the gate decides on).
 *   projector  KPI fold into Redis, exactly once    group `${topicPrefix}.projector`
 *   lander     Avro files into blob storage          group `${topicPrefix}.lander`
 *   control    control events into the ControlStore  (a private group per instance)
 */

import { createContainerClient } from '../core/blob.js';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { Keyring } from '../core/keys/keyring.js';
import { childLogger } from '../core/logger.js';
import { createRedis, requireRedisVersion } from '../core/redis.js';
import { topicsFor } from '../core/topics.js';
import { ControlStore } from '../projections/control/control-store.js';
import { readCurrentVersion } from '../projections/current-version.js';
import { keysFor } from '../projections/keys.js';
import { EventCodec } from '../schemas/codec.js';
import { ControlReader } from './control/control-reader.js';
import { DeadLetterWriter } from './dead-letter.js';
import { LanderRunner } from './lander/lander-runner.js';
import { ProjectorRunner } from './projector/projector-runner.js';
import type { RoleStats } from './stats.js';

export type ProcessorRole = 'projector' | 'lander' | 'control';
export const PROCESSOR_ROLES: readonly ProcessorRole[] = ['projector', 'lander', 'control'];

export interface StartProcessorsOptions {
  roles?: readonly ProcessorRole[];
  /** projection version to write; default: the one queries read (`P:proj:current`, else 1) */
  projectionVersion?: number;
}

export interface ProcessorsHandle {
  readonly roles: readonly ProcessorRole[];
  /** live counters per role (the control role reports control events read) */
  stats(): Partial<Record<ProcessorRole, RoleStats | { events: number; rejected: number }>>;
  /** Graceful: each sink finishes its current batch (and commits it), then everything disconnects. */
  stop(): Promise<void>;
}

const log = childLogger('processors');

export async function startProcessors(config: Config, options: StartProcessorsOptions = {}): Promise<ProcessorsHandle> {
  const roles = options.roles && options.roles.length > 0 ? [...new Set(options.roles)] : [...PROCESSOR_ROLES];
  const topics = topicsFor(config);
  const kafka = createKafka(config);
  const redis = createRedis(config);
  if (roles.includes('projector')) {
    await requireRedisVersion(redis, config.redisUrl).catch((error: unknown) => {
      redis.disconnect();
      throw error;
    });
  }
  const codec = new EventCodec();
  const keys = keysFor(config.redisPrefix);
  const version = options.projectionVersion ?? (await readCurrentVersion(redis, keys));
  const versionKeys = keys.version(version);
  const dataKeys = new Keyring({ kafka, topic: topics.keys, masterKeys: config.masterKeys, groupPrefix: config.topicPrefix });

  const control = new ControlReader({
    kafka,
    topic: topics.control,
    groupPrefix: config.topicPrefix,
    codec,
    keys: dataKeys,
    suppressionSecret: config.suppressionSecret,
    ...(roles.includes('control')
      ? { store: new ControlStore(redis, keys, undefined, config.suppressionSecret), deadLetters: new DeadLetterWriter(kafka, topics.deadletter) }
      : {}),
  });
  const projector = roles.includes('projector')
    ? new ProjectorRunner({
        kafka,
        redis,
        keys: versionKeys,
        codec,
        control,
        topic: topics.emails,
        deadLetterTopic: topics.deadletter,
        groupId: `${config.topicPrefix}.projector`,
        machineClickSeconds: config.machineClickSeconds,
        historyDays: config.historyDays,
        maxClockSkewSeconds: config.maxClockSkewSeconds,
        // an explicit version is pinned; otherwise follow `P:proj:current` across replays
        ...(options.projectionVersion === undefined ? { follow: keys } : {}),
        purgeFenceKey: keys.purgeFence(),
        dataKeys,
      })
    : undefined;
  const lander = roles.includes('lander')
    ? new LanderRunner({
        kafka,
        container: createContainerClient(config),
        codec,
        control,
        topic: topics.emails,
        groupId: `${config.topicPrefix}.lander`,
        cycleOffsets: config.blobCycleOffsets,
        flushSeconds: config.blobFlushSeconds,
        blobRetentionDays: config.blobRetentionDays,
        maxClockSkewSeconds: config.maxClockSkewSeconds,
        acks: { redis, keys },
        dataKeys,
      })
    : undefined;

  try {
    await Promise.all([control.start(), dataKeys.start()]);
    await Promise.all([projector?.start(), lander?.start()]);
  } catch (error) {
    // A failed start leaves nothing connected behind it: the caller sees the error, not a half-started process.
    await Promise.allSettled([projector?.stop(), lander?.stop()]);
    await Promise.allSettled([control.stop(), dataKeys.stop()]);
    redis.disconnect();
    throw error;
  }
  log.info({ roles, projectionVersion: version }, 'processors started');

  let stopped: Promise<void> | undefined;
  return {
    roles,
    stats: () => ({
      ...(projector ? { projector: projector.stats } : {}),
      ...(lander ? { lander: lander.stats } : {}),
      ...(roles.includes('control') ? { control: control.stats } : {}),
    }),
    stop: () =>
      (stopped ??= (async () => {
        await Promise.all([projector?.stop(), lander?.stop()]);
        await control.stop();
        await dataKeys.stop();
        redis.disconnect();
        log.info({ roles }, 'processors stopped');
      })()),
  };
}
