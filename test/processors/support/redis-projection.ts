import type { Redis } from 'ioredis';
import type { KafkaMessage } from 'kafkajs';
import { expect } from 'vitest';
import { DEFAULTS } from '../../../core/config.js';
import { ControlHistory } from '../../../processors/gate/control-history.js';
import { EmailMetaLoader } from '../../../processors/projector/meta-loader.js';
import { projectBatch, type BatchTarget } from '../../../processors/projector/project-batch.js';
import { keysFor, type VersionKeys } from '../../../projections/keys.js';
import { EventCodec } from '../../../schemas/codec.js';
import type { AnyEvent, EmailEvent } from '../../../schemas/events.js';
import { testRedis } from '../../support/env.js';
import { fixture } from '../../support/fixtures.js';

/**
 * The projector's own batch step (projectBatch: decode, gate, batch de-duplication, seen sets,
 * fold, apply-batch.lua) against the real Redis, so fold specs check what Redis holds after one
 * or several batches. Each projection works under a fresh key prefix, deleted when the test
 * that opened it finishes. Each `deliver` is one batch of partition 0, offsets following on;
 * every org is enabled since the epoch, so the gate lets everything through.
 */
export type KeyOf = string | ((keys: VersionKeys) => string);

const TOPIC = 'emails';
const codec = new EventCodec();

/** The records of a fetched batch holding `events`, offsets from `from` on (keyed by org and email). */
export function kafkaRecords(events: readonly AnyEvent[], from = 0): KafkaMessage[] {
  return events.map((event, i) => ({
    key: Buffer.from(`${event.orgId}/${'emailId' in event ? event.emailId : ''}`),
    value: codec.encode(event),
    timestamp: String(event.occurredAt),
    attributes: 0,
    offset: String(from + i),
    headers: {},
  }));
}

/** What projectBatch needs, on `keys`, for a spec that calls it itself: `extra` adds the fences, follow or held flags it tests. */
export function testBatchTarget(redis: Redis, keys: VersionKeys, history: ControlHistory, extra: Partial<BatchTarget> = {}): BatchTarget {
  return { redis, codec, history, keys, meta: new EmailMetaLoader(redis, keys), machineClickSeconds: 5, historyDays: DEFAULTS.HISTORY_DAYS, expectedStart: () => 0, maxClockSkewSeconds: 300, ...extra };
}

export class RedisProjection {
  private nextOffset = 0;
  private readonly history = new ControlHistory();
  private readonly meta: EmailMetaLoader;

  private constructor(
    readonly redis: Redis,
    /** REDIS_PREFIX of this projection (keysFor(prefix).version(1) is `keys`) */
    readonly prefix: string,
    readonly keys: VersionKeys,
    private readonly machineClickSeconds: number,
    private readonly historyDays: number,
  ) {
    this.meta = new EmailMetaLoader(redis, keys);
  }

  /** Call inside a test: the keys and the connection are cleaned up when it finishes. */
  static open(machineClickSeconds = 5, historyDays: number = DEFAULTS.HISTORY_DAYS): RedisProjection {
    const { config, redis } = testRedis();
    return new RedisProjection(redis, config.redisPrefix, keysFor(config.redisPrefix).version(1), machineClickSeconds, historyDays);
  }

  async deliver(...events: EmailEvent[]): Promise<this> {
    if (events.length === 0) return this;
    for (const orgId of new Set(events.map((e) => e.orgId))) this.history.apply(fixture('OrgEngagementEnabled', { orgId, occurredAt: 0, eventId: `enable-${orgId}` }));
    const records = kafkaRecords(events, this.nextOffset);
    this.nextOffset += events.length;
    const target = testBatchTarget(this.redis, this.keys, this.history, { meta: this.meta, machineClickSeconds: this.machineClickSeconds, historyDays: this.historyDays });
    const outcome = await projectBatch(target, TOPIC, 0, records, async () => undefined);
    expect(outcome.deadLetters).toEqual([]);
    expect(outcome.result).toMatchObject({ applied: true });
    return this;
  }

  async get(key: KeyOf): Promise<Record<string, string>> {
    return this.redis.hgetall(this.name(key));
  }

  async members(key: KeyOf): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.name(key)));
  }

  /** The key's absolute expiry in unix seconds (EXPIRETIME): -1 when it has none, -2 when it does not exist. */
  async expiresAt(key: KeyOf): Promise<number> {
    return Number(await this.redis.call('EXPIRETIME', this.name(key)));
  }

  /** Seconds to live (TTL): -1 without expiry, -2 when the key does not exist. */
  async ttl(key: KeyOf): Promise<number> {
    return this.redis.ttl(this.name(key));
  }

  name(key: KeyOf): string {
    return typeof key === 'string' ? key : key(this.keys);
  }
}
