/**
 * Every kafkajs consumer setting of the pipeline, in one place: the group-member settings
 * (`consumer({ groupId, ...X_CONSUMER })`) and the run settings (`run({ ...X_RUN, eachBatch })`)
 * of each kind of reader. The bench baseline reuses the processors' fetch settings from here.
 */

import type { ConsumerConfig, ConsumerRunConfig } from 'kafkajs';

type MemberSettings = Omit<ConsumerConfig, 'groupId'>;
type RunSettings = Omit<ConsumerRunConfig, 'eachBatch' | 'eachMessage'>;

/** The lander and the projector: they commit (or store offsets) themselves, batch by batch. */
export const PROCESSOR_CONSUMER = { sessionTimeout: 15_000, heartbeatInterval: 1500, maxWaitTimeInMs: 500 } as const satisfies MemberSettings;
export const PROCESSOR_RUN = { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2 } as const satisfies RunSettings;

/**
 * The projector fetches 4 MiB per partition (kafkajs: 1 MiB), so a backlog is applied in one script
 * per ~13k records instead of ~3.3k, and the rollups and emails a batch shares are written once for
 * more events: Redis CPU per projected event 23–26 → 20–21 µs (bench/RESULTS.md, tenth session).
 * A live trickle's fetches are small either way. The bench's bare consumer reads with the same sizes.
 */
export const PROJECTOR_FETCH = { maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 } as const satisfies MemberSettings;
export const PROJECTOR_CONSUMER = { ...PROCESSOR_CONSUMER, ...PROJECTOR_FETCH } as const satisfies MemberSettings;

/** The control reader: a private group that reads the whole control topic, never commits. */
export const CONTROL_CONSUMER = { sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 } as const satisfies MemberSettings;
export const CONTROL_RUN = { autoCommit: false } as const satisfies RunSettings;

/**
 * A replay build reads as fast as kafkajs allows: large fetches, every partition concurrently
 * (up to 8). Per-partition fetch size 1 MiB by default: measured in bench/RESULTS.md "Bottleneck
 * work (2)", smaller batches overlap the fold of one partition with another's script better.
 */
export const REPLAY_CONSUMER = { sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 200, maxBytes: 16 << 20 } as const satisfies MemberSettings;
export const REPLAY_MAX_BYTES_PER_PARTITION = 1 << 20;
export function replayRun(partitions: number): RunSettings {
  return { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: Math.max(1, Math.min(8, partitions)) };
}
