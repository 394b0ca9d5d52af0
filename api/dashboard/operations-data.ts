/**
 * What the operations page shows, read from the running system: consumer-group lag per
 * partition (Kafka's committed offsets against the log end, and the projection's own offsets in
 * Redis, which are the ones that count for exactly-once), dead letters with their latest reasons,
 * the projection version and replay state, organisations on their way to a purge, and any spool
 * gauge the process exports. Reading dead-letter reasons needs a short-lived consumer, so the
 * whole answer is cached for a few seconds.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import { register, type Registry } from 'prom-client';
import type { Config } from '../../core/config.js';
import { topicsFor } from '../../core/topics.js';
import { pendingPurgeSince } from '../../projections/control/org-state.js';
import type { ControlStore } from '../../projections/control/control-store.js';
import { readCurrentVersion } from '../../projections/current-version.js';
import { keysFor } from '../../projections/keys.js';

export interface PartitionLag {
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

export interface GroupLag {
  group: string;
  source: 'kafka' | 'redis';
  topic: string;
  partitions: PartitionLag[];
  totalLag: number;
}

export interface DeadLetter {
  reason: string;
  code: string;
  sourceTopic: string;
  sourcePartition: string;
  sourceOffset: string;
  group: string;
  at: string;
}

export interface OperationsData {
  readAt: string;
  groups: GroupLag[];
  deadLetters: { total: number; recent: DeadLetter[]; recentError: string | null };
  projection: { current: number; versions: Array<{ version: number; status: string; detail: string }>; replayLock: string | null; held: boolean };
  purges: Array<{ orgId: string; subscriptionEndedAt: string; purgeDueAt: string; inProgress: string | null }>;
  spool: Array<{ name: string; labels: string; value: number }>;
}

export const RECENT_DEAD_LETTERS = 20;
const CACHE_MS = 5_000;
const READ_TIMEOUT_MS = 10_000;

/** Pure: committed offsets against the log end (a group that never committed lags by the whole log). */
export function lagOf(ends: ReadonlyArray<{ partition: number; high: string; low: string }>, committed: ReadonlyMap<number, number>): PartitionLag[] {
  return ends
    .map((p) => {
      const end = Number(p.high);
      const at = committed.get(p.partition) ?? null;
      return { partition: p.partition, committed: at, end, lag: Math.max(0, end - (at ?? Number(p.low))) };
    })
    .sort((a, b) => a.partition - b.partition);
}

export interface OperationsDeps {
  config: Config;
  kafka: Kafka;
  redis: Redis;
  control: ControlStore;
  registries: readonly Registry[];
  now: () => number;
}

export class OperationsReader {
  private admin: Promise<Admin> | undefined;
  private closed = false;
  private cached: { at: number; data: Promise<OperationsData> } | undefined;

  constructor(private readonly deps: OperationsDeps) {}

  read(): Promise<OperationsData> {
    const now = this.deps.now();
    if (!this.cached || now - this.cached.at > CACHE_MS) {
      const data = this.load();
      this.cached = { at: now, data };
      data.catch(() => (this.cached = undefined));
    }
    return this.cached.data;
  }

  async close(): Promise<void> {
    this.closed = true;
    const admin = await this.admin?.catch(() => undefined);
    this.admin = undefined;
    await admin?.disconnect();
  }

  /** One admin client, whose connect is shared by every call that overlaps it (none leaks). */
  private connectedAdmin(): Promise<Admin> {
    if (this.closed) return Promise.reject(new Error('the server is closing'));
    if (!this.admin) {
      const admin = this.deps.kafka.admin();
      const ready = admin.connect().then(
        async () => {
          if (this.closed) {
            await admin.disconnect();
            throw new Error('the server is closing');
          }
          return admin;
        },
        async (error: unknown) => {
          // the next call tries again with a new client
          if (this.admin === ready) this.admin = undefined;
          await admin.disconnect().catch(() => undefined);
          throw error;
        },
      );
      this.admin = ready;
    }
    return this.admin;
  }

  /** Lag of every group and the records in the dead-letter topic: what /metrics exports too. */
  async positions() {
    const { config, redis } = this.deps;
    const topics = topicsFor(config);
    const keys = keysFor(config.redisPrefix);
    const admin = await this.connectedAdmin();
    const [emailEnds, deadEnds, current] = await Promise.all([admin.fetchTopicOffsets(topics.emails), admin.fetchTopicOffsets(topics.deadletter), readCurrentVersion(redis, keys)]);
    const groups: GroupLag[] = [];
    for (const role of ['projector', 'lander']) {
      const group = `${config.topicPrefix}.${role}`;
      const fetched = await admin.fetchOffsets({ groupId: group, topics: [topics.emails] });
      const committed = new Map((fetched[0]?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)] as const));
      const partitions = lagOf(emailEnds, committed);
      groups.push({ group, source: 'kafka', topic: topics.emails, partitions, totalLag: partitions.reduce((s, p) => s + p.lag, 0) });
    }
    const stored = await redis.hgetall(keys.version(current).offsets(topics.emails));
    const projected = lagOf(emailEnds, new Map(Object.entries(stored).map(([p, o]) => [Number(p), Number(o)] as const)));
    groups.push({ group: `projection v${current}`, source: 'redis', topic: topics.emails, partitions: projected, totalLag: projected.reduce((s, p) => s + p.lag, 0) });
    const deadLetterRecords = deadEnds.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
    return { groups, deadEnds, current, deadLetterRecords };
  }

  private async load(): Promise<OperationsData> {
    const { config, redis } = this.deps;
    const topics = topicsFor(config);
    const keys = keysFor(config.redisPrefix);
    const { groups, deadEnds, current, deadLetterRecords: total } = await this.positions();
    let recent: DeadLetter[] = [];
    let recentError: string | null = null;
    if (total > 0) {
      try {
        recent = await this.recentDeadLetters(topics.deadletter, deadEnds);
      } catch (error) {
        recentError = error instanceof Error ? error.message : String(error);
      }
    }

    const versions = (await redis.smembers(keys.projectionVersions())).map(Number).filter((v) => Number.isInteger(v) && v > 0);
    if (!versions.includes(current)) versions.push(current);
    const replayRows = await Promise.all(
      versions.sort((a, b) => a - b).map(async (version) => {
        const replay = await redis.hgetall(keys.version(version).replay());
        const status = replay.status ?? (version === current ? 'live' : 'unknown');
        const detail = Object.entries(replay)
          .filter(([k]) => k !== 'status')
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        return { version, status: version === current && status !== 'live' ? `${status} (current)` : status, detail };
      }),
    );
    const [replayLock, held] = await Promise.all([redis.get(keys.replayLock()), redis.exists(keys.projectionHold())]);

    const orgIds = await this.deps.control.listOrgs();
    const states = await this.deps.control.readOrgs(orgIds);
    const inProgress = await redis.hgetall(keys.purges());
    const dayMs = 86_400_000;
    const purges = [...states.values()]
      .map((state) => ({ state, since: pendingPurgeSince(state) }))
      .filter((s): s is { state: (typeof s)['state']; since: number } => s.since !== null)
      .map(({ state, since }) => ({
        orgId: state.orgId,
        subscriptionEndedAt: new Date(since).toISOString(),
        purgeDueAt: new Date(since + config.retentionDays * dayMs).toISOString(),
        inProgress: inProgress[state.orgId] ? describePurge(inProgress[state.orgId]!) : null,
      }));
    for (const [orgId, record] of Object.entries(inProgress)) {
      if (!purges.some((p) => p.orgId === orgId)) purges.push({ orgId, subscriptionEndedAt: '', purgeDueAt: '', inProgress: describePurge(record) });
    }
    purges.sort((a, b) => a.purgeDueAt.localeCompare(b.purgeDueAt) || a.orgId.localeCompare(b.orgId));

    return {
      readAt: new Date(this.deps.now()).toISOString(),
      groups,
      deadLetters: { total, recent, recentError },
      projection: { current, versions: replayRows, replayLock, held: held === 1 },
      purges,
      spool: await spoolGauges(this.deps.registries),
    };
  }

  /** The last RECENT_DEAD_LETTERS records (spread over partitions), newest first. */
  private async recentDeadLetters(topic: string, ends: ReadonlyArray<{ partition: number; high: string; low: string }>): Promise<DeadLetter[]> {
    const perPartition = Math.max(1, Math.ceil(RECENT_DEAD_LETTERS / Math.max(1, ends.filter((e) => Number(e.high) > Number(e.low)).length)));
    const wanted = ends
      .filter((e) => Number(e.high) > Number(e.low))
      .map((e) => ({ partition: e.partition, from: Math.max(Number(e.low), Number(e.high) - perPartition), end: Number(e.high) }));
    const groupId = `${this.deps.config.topicPrefix}.dashboard-dlq.${randomBytes(4).toString('hex')}`;
    const consumer = this.deps.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    const found: Array<DeadLetter & { ts: number }> = [];
    const done = new Set<number>();
    const header = (headers: Record<string, unknown> | undefined, name: string): string => {
      const v = headers?.[name];
      return v === undefined || v === null ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const w = wanted.find((x) => x.partition === partition);
          if (!w || Number(message.offset) < w.from) return;
          found.push({
            reason: header(message.headers, 'dlq.reason'),
            code: header(message.headers, 'dlq.code'),
            sourceTopic: header(message.headers, 'dlq.topic'),
            sourcePartition: header(message.headers, 'dlq.partition'),
            sourceOffset: header(message.headers, 'dlq.offset'),
            group: header(message.headers, 'dlq.group'),
            at: new Date(Number(message.timestamp)).toISOString(),
            ts: Number(message.timestamp),
          });
          if (Number(message.offset) + 1 >= w.end) done.add(partition);
          if (done.size === wanted.length) finish();
        },
      });
      for (const w of wanted) consumer.seek({ topic, partition: w.partition, offset: String(w.from) });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error('dead letters not read within 10 s')), READ_TIMEOUT_MS)))]).finally(() =>
        clearTimeout(timer),
      );
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await this.admin?.then((admin) => admin.deleteGroups([groupId])).catch(() => undefined);
    }
    return found.sort((a, b) => b.ts - a.ts).slice(0, RECENT_DEAD_LETTERS).map(({ ts: _ts, ...rest }) => rest);
  }
}

function describePurge(raw: string): string {
  try {
    const record = JSON.parse(raw) as Record<string, unknown>;
    return ['step', 'status', 'reason'].filter((k) => record[k] !== undefined && record[k] !== null).map((k) => `${k}: ${String(record[k])}`).join(', ');
  } catch {
    return raw;
  }
}

/** Any gauge or counter whose name mentions a spool (a tracking spool exports its depth so). */
async function spoolGauges(registries: readonly Registry[]): Promise<OperationsData['spool']> {
  const out: OperationsData['spool'] = [];
  const seen = new Set<string>();
  for (const registry of [...registries, register]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      if (!/spool/i.test(metric.name) || seen.has(metric.name)) continue;
      seen.add(metric.name);
      for (const value of (metric as { values?: Array<{ value: number; labels: Record<string, unknown> }> }).values ?? []) {
        out.push({ name: metric.name, labels: Object.entries(value.labels).map(([k, v]) => `${k}=${String(v)}`).join(','), value: value.value });
      }
    }
  }
  return out;
}
