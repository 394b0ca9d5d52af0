import type { Topics } from './topics.js';

/**
 * The retention contract of DESIGN.md §3, pure: what each topic must keep so that a replay
 * reproduces every key the live projection still holds. `stack up` creates (and on the local
 * stack raises) topics with it; `start` and `replay` refuse to run on a topic that keeps less.
 *
 *   control     retention.ms=-1, retention.bytes=-1      never trimmed (it is small)
 *   emails      retention.ms >= (HISTORY_DAYS + 7) days   (or -1), retention.bytes=-1
 *   deadletter  retention.ms >= 30 days                   (or -1)
 *   keys        cleanup.policy=compact (KEYS_TOPIC_CONFIGS): a destroyed key is physically gone
 *               within KEYS_SHRED_BOUND_HOURS; a delete policy would lose live keys after retention.ms
 */
export const DAY_MS = 86_400_000;
/** The emails topic outlives the KPI horizon by this much. */
export const EMAILS_EXTRA_DAYS = 7;
export const DEADLETTER_DAYS = 30;
/** Kafka's "no limit" for retention.ms and retention.bytes. */
export const UNLIMITED = -1;

export type RetentionSetting = 'retention.ms' | 'retention.bytes';
/** A compacted topic keeps only the last record per key: for control (key orgId) that drops the history. */
export const CLEANUP_POLICY = 'cleanup.policy';

/**
 * The keys topic: compacted, and tuned so that a tombstoned data key is physically gone soon.
 * A segment is cleaned only once it is not the active one; it rolls on the first append after
 * segment.ms (the retention pass appends a roll marker every RETENTION_INTERVAL_SECONDS); the
 * cleaner then compacts it within max.compaction.lag.ms (min.cleanable.dirty.ratio makes it
 * eligible at once), dropping the key record the tombstone shadows; the tombstone itself goes
 * delete.retention.ms later, and the replaced segment files after file.delete.delay.ms (60 s).
 */
export const KEYS_TOPIC_CONFIGS = {
  'cleanup.policy': 'compact',
  'segment.ms': String(3_600_000),
  'max.compaction.lag.ms': String(3_600_000),
  'min.cleanable.dirty.ratio': '0.01',
  'delete.retention.ms': String(DAY_MS),
} as const;
/** segment.ms + one retention interval (default 1 h) + max.compaction.lag.ms, rounded up. */
export const KEYS_SHRED_BOUND_HOURS = 3;

export interface TopicRetention {
  topic: string;
  /** the least each setting may be; UNLIMITED: only -1 will do */
  minimum: Partial<Record<RetentionSetting, number>>;
  /** why, for messages */
  reason: string;
  /** must be `cleanup.policy=delete`: compaction would keep one record per key */
  noCompaction?: boolean;
  /** must be `cleanup.policy=compact` (the keys topic); created with these configs */
  compacted?: Readonly<Record<string, string>>;
}

export function retentionContract(topics: Topics, historyDays: number): TopicRetention[] {
  return [
    { topic: topics.control, minimum: { 'retention.ms': UNLIMITED, 'retention.bytes': UNLIMITED }, reason: 'the control history is never trimmed', noCompaction: true },
    {
      topic: topics.emails,
      minimum: { 'retention.ms': (historyDays + EMAILS_EXTRA_DAYS) * DAY_MS, 'retention.bytes': UNLIMITED },
      reason: `HISTORY_DAYS ${historyDays} + ${EMAILS_EXTRA_DAYS} days`,
      noCompaction: true,
    },
    { topic: topics.deadletter, minimum: { 'retention.ms': DEADLETTER_DAYS * DAY_MS }, reason: `dead letters are kept ${DEADLETTER_DAYS} days` },
    { topic: topics.keys, minimum: {}, reason: 'data keys are kept until destroyed (a delete policy would lose live keys)', compacted: KEYS_TOPIC_CONFIGS },
  ];
}

/** The topic configs a topic is created with: exactly the contract's minimums. */
export function contractConfigEntries(retention: TopicRetention): Array<{ name: string; value: string }> {
  return [
    ...Object.entries(retention.minimum).map(([name, value]) => ({ name, value: String(value) })),
    ...Object.entries(retention.compacted ?? {}).map(([name, value]) => ({ name, value })),
  ];
}

/** The value `stack up` writes to fix a shortfall. */
export function shortfallFix(s: RetentionShortfall): string {
  if (s.setting === CLEANUP_POLICY) return s.required === COMPACT_REQUIRED ? 'compact' : 'delete';
  return String(s.required);
}

/** `required` of a cleanup.policy shortfall on a topic that must be compacted. */
export const COMPACT_REQUIRED = -2;

export interface RetentionShortfall {
  topic: string;
  setting: RetentionSetting | typeof CLEANUP_POLICY;
  /** as the cluster reported it; undefined when it did not report it */
  actual: string | undefined;
  required: number;
  reason: string;
}

/** A retention value keeps at least `minimum`: any negative value is unlimited. */
export function keepsAtLeast(actual: number, minimum: number): boolean {
  if (actual < 0) return true;
  return minimum !== UNLIMITED && actual >= minimum;
}

/**
 * Every setting of `contract` that keeps less than required, given each topic's configs as the
 * cluster describes them (topic -> name -> value). A missing `retention.ms` is a shortfall (it
 * can't be proven); a missing `retention.bytes` is not (managed clusters often don't report it,
 * and Kafka's default is unlimited).
 */
export function retentionShortfalls(
  contract: readonly TopicRetention[],
  described: ReadonlyMap<string, ReadonlyMap<string, string>>,
): RetentionShortfall[] {
  const shortfalls: RetentionShortfall[] = [];
  for (const { topic, minimum, reason, noCompaction, compacted } of contract) {
    const configs = described.get(topic);
    const policy = configs?.get(CLEANUP_POLICY);
    if (compacted && policy !== 'compact') {
      shortfalls.push({ topic, setting: CLEANUP_POLICY, actual: policy, required: COMPACT_REQUIRED, reason });
    }
    if (noCompaction && policy !== undefined && policy.includes('compact')) {
      shortfalls.push({ topic, setting: CLEANUP_POLICY, actual: policy, required: UNLIMITED, reason: 'a compacted topic keeps only the last record per key' });
    }
    for (const [setting, required] of Object.entries(minimum) as Array<[RetentionSetting, number]>) {
      const actual = configs?.get(setting);
      if (actual === undefined) {
        if (setting === 'retention.ms') shortfalls.push({ topic, setting, actual, required, reason });
        continue;
      }
      const value = Number(actual);
      if (actual.trim() === '' || !Number.isFinite(value) || !keepsAtLeast(value, required)) shortfalls.push({ topic, setting, actual, required, reason });
    }
  }
  return shortfalls;
}

/** e.g. "t.emails: retention.ms=604800000 (7 days), required retention.ms >= 34992000000 (405 days: HISTORY_DAYS 400 + 7 days) or -1" */
export function formatShortfall(s: RetentionShortfall): string {
  if (s.setting === CLEANUP_POLICY) return `${s.topic}: ${CLEANUP_POLICY}=${s.actual ?? ''}, required ${CLEANUP_POLICY}=${shortfallFix(s)} (${s.reason})`;
  const actual = s.actual === undefined ? `${s.setting} is not reported by the cluster` : `${s.setting}=${s.actual}${inDays(s.setting, s.actual)}`;
  const required =
    s.required === UNLIMITED
      ? `required ${s.setting}=-1 (${s.reason})`
      : `required ${s.setting} >= ${s.required} (${s.setting === 'retention.ms' ? `${s.required / DAY_MS} days: ` : ''}${s.reason}) or -1`;
  return `${s.topic}: ${actual}, ${required}`;
}

function inDays(setting: RetentionSetting, raw: string): string {
  const value = Number(raw);
  if (setting !== 'retention.ms' || !Number.isFinite(value) || value < 0) return '';
  return ` (${Number((value / DAY_MS).toFixed(2))} days)`;
}
