/**
 * Every process's copy of the organisations' data keys: it reads the whole keys topic
 * (`<prefix>.keys`, compacted, key orgId) from the beginning in a private consumer group, unwraps
 * each key with the master keys and keeps it in memory; a tombstone forgets every key of the org.
 *
 * One key per org generation, whoever creates it: `ensure` writes a fresh key only when none is
 * live after reading the topic to its end, then reads back to the end; the FIRST key record since
 * the org's last tombstone wins (every reader sees the same partition order), and a writer that
 * sees a later record last (a concurrent creator lost) writes the winner again, so compaction,
 * which keeps the latest record per key, keeps the winner. Readers accept every key seen since the
 * last tombstone, so a loser's key (never used to encrypt) is harmless.
 *
 * With a `snapshot` (the API's, under SPOOL_DIR: key-snapshot.ts) the keyring starts from its
 * local copy of the topic, so it can seal before Kafka answers; the copy stands in only until the
 * topic has been read to its end once, and is rewritten whenever the keys read change.
 */

import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { EngagementError } from '../errors.js';
import { childLogger } from '../logger.js';
import { nonEmptyEndsOf, readTopicOffsets } from '../topic-offsets.js';
import { startOrReset } from '../kafka.js';
import { FIELD_ALGORITHM } from '../crypto/field-cipher.js';
import { newDataKey, unwrapDataKey, wrapDataKey, type MasterKey } from '../crypto/master-keys.js';
import { decodeKeyRecord, encodeKeyRecord, type KeyRecord } from './key-record.js';
import { keyMetrics, registerKeyCount } from './key-metrics.js';
import { KEY_SNAPSHOT_MAX_AGE_MS, type KeySnapshot } from './key-snapshot.js';
import { ORDERED_PRODUCER } from '../kafka-partitioner.js';

const log = childLogger('keyring');
/** How long after a crash kafkajs does not restart the keys topic reader is started again. */
const CRASH_RESTART_MS = 1_000;

export interface DataKey {
  orgId: string;
  keyId: string;
  key: Buffer;
}

/** What sealing and opening need: the synchronous lookups of the cache. */
export interface DataKeys {
  /** the key an org's new records are sealed with (the generation's first key), if known */
  current(orgId: string): DataKey | undefined;
  /** any live key of the org by id */
  key(orgId: string, keyId: string): Buffer | undefined;
}

/** What producers need: a key for the org, created when there is none. */
export interface DataKeySource extends DataKeys {
  ensure(orgId: string): Promise<DataKey>;
  /** the keys topic read to its end (then `current` knows every key created so far) */
  caughtUp?(): Promise<void>;
}

export interface KeyringOptions {
  kafka: Kafka;
  topic: string;
  masterKeys: readonly MasterKey[];
  groupPrefix: string;
  /** the process's local copy of the topic: read by `restore()`, rewritten once the topic is read */
  snapshot?: KeySnapshot;
  /**
   * How long a caller waits for a keyring not started yet (Kafka not reached) before it fails with
   * 503: set by the API, whose requests must not hang; without it (processors, replay) a caller
   * waits as long as the start takes.
   */
  startWaitMs?: number;
}

/** How often a running keyring re-reads the topic's end to confirm its local copy (far below KEY_SNAPSHOT_MAX_AGE_MS). */
const SNAPSHOT_CONFIRM_MS = 10 * 60_000;
/** New keys read within this window are written to the local copy together. */
const SNAPSHOT_GATHER_MS = 1_000;

interface OrgKeys {
  first: DataKey | undefined;
  /** when `first`, the key the generation seals with, was created (ms; 0 for a record that did not say) */
  createdAt: number;
  live: Map<string, Buffer>;
  /** the latest record's key id and raw value: what compaction keeps */
  latestKeyId: string | undefined;
  records: Map<string, Buffer>;
}

export class Keyring implements DataKeySource {
  private readonly orgs = new Map<string, OrgKeys>();
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private producer: Producer | undefined;
  private readonly positions = new Map<number, number>();
  /** partition -> the furthest offset ever read (positions go back when a rejoin reads again from the start) */
  private readonly highWater = new Map<number, number>();
  private waiters: Array<{ targets: Map<number, number>; resolve: () => void }> = [];
  private readonly creating = new Map<string, Promise<DataKey>>();
  private unregister: (() => void) | undefined;
  private started = false;
  /** from the local copy, until the topic has been read to its end once; sealing only (`sealingKey`) */
  private restored: Map<string, OrgKeys> | undefined;
  /** the restored keys are not used after this (ms): the copy's last confirmation + the shredding bound */
  private restoredUntil = 0;
  /** the topic has been read to its end once: what `orgs` holds is the topic's */
  private confirmed = false;
  /** when what `orgs` holds last equalled the topic read to its end (ms): the copy's stamp */
  private confirmedAt = 0;
  private stopped = false;
  private confirmTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private snapshot: KeySnapshot | undefined;
  /** resolves once start() has the consumer running: a reader started alongside may ask for keys before */
  private running: Promise<void> | undefined;
  private markRunning: (() => void) | undefined;

  constructor(private readonly options: KeyringOptions) {
    this.snapshot = options.snapshot;
    const groupId = `${options.groupPrefix}.keyring.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
    this.admin = options.kafka.admin();
    // kafkajs starts a consumer again after a retriable crash; after any other (one was seen in a
    // rebalance) it stays stopped, and this keyring would hold destroyed keys and miss new ones
    // until the process restarts. It starts again instead, until it runs.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopped) return;
      log.error({ err: payload.error }, 'the keys topic reader crashed; starting it again');
      this.started = false;
      this.startAgainSoon();
    });
  }

  private restartTimer: NodeJS.Timeout | undefined;

  private startAgainSoon(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.start().catch((error: unknown) => {
        log.error({ err: error }, 'the keys topic reader did not start again; trying again');
        this.startAgainSoon();
      });
    }, CRASH_RESTART_MS);
  }

  /**
   * The keys of the local copy, until the topic is read (a copy older than the bound within which
   * a destroyed key leaves the topic is deleted unread). Returns what it restored.
   */
  restore(now = Date.now()): { orgs: number; confirmedAt: number } | { unusable: string } {
    const snapshot = this.snapshot;
    if (!snapshot || this.confirmed) return { unusable: 'none' };
    const reading = snapshot.read(now, this.options.topic);
    if ('unusable' in reading) return { unusable: reading.unusable };
    const restored = new Map<string, OrgKeys>();
    for (const [orgId, values] of reading.records) for (const value of values) this.applyRecord(restored, orgId, value);
    this.restored = restored;
    this.restoredUntil = reading.confirmedAt + KEY_SNAPSHOT_MAX_AGE_MS;
    this.unregister ??= registerKeyCount(() => this.size);
    return { orgs: restored.size, confirmedAt: reading.confirmedAt };
  }

  /**
   * The key to seal an org's new tracking hits with: before the topic has been read to its end, the
   * local copy's (within the shredding bound of its last confirmation), else `current`. Only for sealing into
   * the spool: a key created, opened or answered to a caller always comes from the topic.
   */
  sealingKey(orgId: string, now = Date.now()): DataKey | undefined {
    // until the topic is read to its end, a whole earlier read (the copy) beats the partial one
    // (which may not have reached a tombstone yet)
    const restored = this.restored !== undefined && now <= this.restoredUntil ? this.restored.get(orgId)?.first : undefined;
    return restored ?? this.current(orgId);
  }

  /**
   * Whether `sealingKey` can answer without Kafka: the topic has been read to its end once (its keys
   * stay in memory), or the local copy is within its bound. When neither, every tracking hit of a
   * Kafka outage is lost for want of a key, and /readyz says so.
   */
  sealsOffline(now = Date.now()): boolean {
    return this.confirmed || (this.restored !== undefined && now <= this.restoredUntil);
  }

  private throwIfStopped(): void {
    if (this.stopped) throw new EngagementError('superseded', 'keyring stopped while it was starting');
  }

  /** Resolves once start() has the consumer running, or fails (503) after `timeoutMs` if given. */
  private async startedWithin(timeoutMs: number | undefined): Promise<void> {
    const running = (this.running ??= new Promise((resolve) => (this.markRunning = resolve)));
    if (timeoutMs === undefined) return running;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EngagementError('kafka_unavailable', `the keys topic has not been reached within ${timeoutMs} ms: Kafka is not reachable`, { retriable: true })), timeoutMs);
    });
    try {
      await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Deletes the local copy and writes it no more (a per-process spool is never picked up again). */
  dropSnapshot(): void {
    clearInterval(this.confirmTimer);
    clearTimeout(this.saveTimer);
    this.snapshot?.remove();
    this.snapshot = undefined;
  }

  /** Connects and reads the topic to its end. Can be called again after it failed (Kafka unreachable). */
  async start(): Promise<void> {
    this.running ??= new Promise((resolve) => (this.markRunning = resolve));
    // a running consumer reconnects by itself: only one not running yet is reset
    await startOrReset(() => this.startClients(), () => (this.started ? [this.admin] : [this.admin, this.consumer]));
  }

  private async startClients(): Promise<void> {
    if (!this.started) {
      await this.admin.connect();
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
      this.throwIfStopped();
      await this.consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          // offsets are never committed: after a rejoin the topic is read again from the start, and
          // until its end a key destroyed later in the log is held again for a moment
          const end = Number(batch.lastOffset()) + 1;
          const rereading = end <= (this.highWater.get(batch.partition) ?? 0);
          if (!rereading) this.highWater.set(batch.partition, end);
          let added = false;
          let removed = false;
          for (const message of batch.messages) {
            const change = this.apply(message.key, message.value);
            added ||= change === 'added';
            removed ||= change === 'removed';
          }
          this.positions.set(batch.partition, end);
          // Saved under the last confirmation's stamp (a batch of one partition says nothing of the
          // others); a re-read is left to the next confirmation. A removed key leaves the file at
          // once; new keys are gathered (a burst of new orgs is one rewrite of the file, not one each).
          if (this.confirmed && !rereading) {
            if (removed) this.saveSnapshot();
            else if (added) this.saveSoon();
          }
          this.release();
        },
      });
      this.throwIfStopped();
      this.started = true;
      this.markRunning?.();
      this.unregister ??= registerKeyCount(() => this.size);
    }
    const asked = Date.now();
    await this.caughtUp();
    this.throwIfStopped();
    if (!this.confirmed) {
      this.confirmed = true;
      this.restored = undefined;
      this.confirmedAt = asked;
      this.saveSnapshot();
      if (this.snapshot) {
        this.confirmTimer = setInterval(() => void this.confirmSnapshot(), SNAPSHOT_CONFIRM_MS);
        this.confirmTimer.unref();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.saveTimer) this.saveSnapshot(); // keys gathered for the copy are written before the keys are dropped
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.confirmTimer);
    this.unregister?.();
    await this.consumer.disconnect();
    await this.producer?.disconnect();
    await this.admin.disconnect();
    this.orgs.clear();
    this.restored = undefined;
  }

  /** Keys held unwrapped. */
  get size(): number {
    let n = 0;
    for (const org of this.orgs.values()) n += org.live.size;
    for (const [orgId, org] of this.restored ?? []) if (!this.orgs.has(orgId)) n += org.live.size;
    return n;
  }

  /**
   * Every org with live keys (as read from the topic), and when the key it seals with was created.
   * Not the oldest record's time: a re-read of the topic from its start (a rejoin) meets an older
   * generation's records again before their tombstone.
   */
  generations(): Map<string, number> {
    return new Map([...this.orgs].filter(([, org]) => org.live.size > 0).map(([orgId, org]) => [orgId, org.createdAt]));
  }

  current(orgId: string): DataKey | undefined {
    return this.orgs.get(orgId)?.first;
  }

  key(orgId: string, keyId: string): Buffer | undefined {
    return this.orgs.get(orgId)?.live.get(keyId);
  }

  /** Resolves once every record on the topic when this was called has been read. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    // (a reader started alongside the keyring may ask before start() has the consumer running)
    if (!this.started) await this.startedWithin(this.options.startWaitMs);
    const targets = nonEmptyEndsOf(await readTopicOffsets(this.admin, this.options.topic));
    if (this.reached(targets)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new EngagementError('kafka_unavailable', `keys topic not caught up within ${timeoutMs} ms`, { retriable: true }));
      }, timeoutMs);
      const waiter = {
        targets,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * The org's key, created (and written to the topic) when it has none. Creating one needs the
   * topic read: an API still waiting for Kafka answers its caller 503 after `startWaitMs` rather
   * than holding the request.
   */
  async ensure(orgId: string): Promise<DataKey> {
    const known = this.current(orgId);
    if (known) return known;
    if (!this.started) await this.startedWithin(this.options.startWaitMs);
    let pending = this.creating.get(orgId);
    if (!pending) {
      pending = this.create(orgId).finally(() => this.creating.delete(orgId));
      this.creating.set(orgId, pending);
    }
    return pending;
  }

  /** Crypto-shredding: the tombstone for the org's keys; this cache forgets them at once, every other when it reads it. */
  async destroy(orgId: string): Promise<void> {
    const producer = await this.writer();
    await producer.send({ topic: this.options.topic, acks: -1, messages: [{ key: orgId, value: null }] });
    this.orgs.delete(orgId);
    this.restored?.delete(orgId);
    if (this.confirmed) this.saveSnapshot();
    log.info({ orgId }, 'data keys destroyed (tombstone written)');
  }

  /**
   * An empty-keyed tombstone in every partition: a compacted segment is cleaned only once it is
   * no longer the active one, and a segment rolls (after segment.ms) only on an append, so the
   * retention pass appends to make the README's bound hold on a quiet topic. Readers ignore it.
   */
  async rollSegments(): Promise<void> {
    const producer = await this.writer();
    const offsets = await readTopicOffsets(this.admin, this.options.topic);
    await producer.send({ topic: this.options.topic, acks: -1, messages: offsets.map((o) => ({ partition: o.partition, key: '', value: null })) });
  }

  private async create(orgId: string): Promise<DataKey> {
    await this.caughtUp();
    const known = this.current(orgId);
    if (known) return known;
    const keyId = randomBytes(8).toString('hex');
    const record: KeyRecord = { orgId, keyId, algorithm: FIELD_ALGORITHM, ...wrapDataKey(newDataKey(), orgId, keyId, this.options.masterKeys), createdAt: Date.now() };
    const producer = await this.writer();
    await producer.send({ topic: this.options.topic, acks: -1, messages: [{ key: orgId, value: encodeKeyRecord(record) }] });
    await this.caughtUp();
    const org = this.orgs.get(orgId);
    const winner = org?.first;
    if (!org || !winner) throw new EngagementError('internal', `data key of ${orgId} written but not read back (destroyed meanwhile?)`, { retriable: true });
    if (org.latestKeyId !== winner.keyId) {
      // a concurrent creator wrote after the winner: write the winner again so compaction keeps it
      await producer.send({ topic: this.options.topic, acks: -1, messages: [{ key: orgId, value: org.records.get(winner.keyId)! }] });
    }
    if (winner.keyId === keyId) log.info({ orgId, keyId, kid: record.kid }, 'data key created');
    return winner;
  }

  private async writer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.options.kafka.producer(ORDERED_PRODUCER);
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  /** A record read from the topic, and how it changed the keys held. */
  private apply(rawKey: Buffer | null, value: Buffer | null): 'added' | 'removed' | false {
    const orgId = rawKey?.toString('utf8') ?? '';
    if (orgId === '') return false; // a segment roll marker
    if (value === null) {
      // a tombstone also shadows the local copy at once, before the topic is read to its end
      this.restored?.delete(orgId);
      return this.orgs.delete(orgId) ? 'removed' : false;
    }
    return this.applyRecord(this.orgs, orgId, value) ? 'added' : false;
  }

  private applyRecord(orgs: Map<string, OrgKeys>, orgId: string, value: Buffer): boolean {
    const record = decodeKeyRecord(orgId, value);
    if (typeof record === 'string') {
      keyMetrics.decryptFailures.inc({ reason: 'malformed' });
      log.error({ orgId, reason: record }, 'unreadable record on the keys topic; ignored');
      return false;
    }
    let key: Buffer;
    try {
      key = unwrapDataKey(record, orgId, record.keyId, this.options.masterKeys);
    } catch (error) {
      keyMetrics.decryptFailures.inc({ reason: 'unwrap_failed' });
      log.error({ orgId, keyId: record.keyId, kid: record.kid, reason: (error as Error).message }, 'data key does not unwrap with ENGAGEMENT_MASTER_KEY; its records stay unreadable here');
      return false;
    }
    let org = orgs.get(orgId);
    if (!org) {
      org = { first: undefined, createdAt: record.createdAt, live: new Map(), latestKeyId: undefined, records: new Map() };
      orgs.set(orgId, org);
    }
    const known = org.live.has(record.keyId);
    org.live.set(record.keyId, key);
    org.records.set(record.keyId, value);
    org.first ??= { orgId, keyId: record.keyId, key };
    org.latestKeyId = record.keyId;
    return !known;
  }

  private saveSoon(): void {
    if (this.saveTimer || !this.snapshot) return;
    this.saveTimer = setTimeout(() => this.saveSnapshot(), SNAPSHOT_GATHER_MS);
    this.saveTimer.unref();
  }

  /** Re-reads the topic's end; the copy then says it equalled the topic at that time. */
  private async confirmSnapshot(): Promise<void> {
    const asked = Date.now();
    try {
      await this.caughtUp();
      this.confirmedAt = asked;
      this.saveSnapshot();
    } catch (error) {
      log.warn({ err: error }, 'keys topic not reachable: the local copy of the data keys is not confirmed this time');
    }
  }

  /**
   * The keys held, as the topic's records, to the local copy, stamped with the last time they were
   * confirmed against the topic's end. A failed write is logged: the copy is a stand-in.
   */
  private saveSnapshot(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const snapshot = this.snapshot;
    // after stop() `orgs` is empty: writing it would wipe the copy a restart during an outage needs
    if (!snapshot || this.stopped || !this.confirmed) return;
    const records = new Map<string, Buffer[]>();
    for (const [orgId, org] of this.orgs) records.set(orgId, [...org.records.values()]);
    try {
      snapshot.write(records, this.confirmedAt, this.options.topic);
    } catch (error) {
      log.error({ err: error, file: snapshot.file }, 'the local copy of the data keys could not be written');
    }
  }

  private reached(targets: ReadonlyMap<number, number>): boolean {
    for (const [partition, high] of targets) if ((this.positions.get(partition) ?? 0) < high) return false;
    return true;
  }

  private release(): void {
    const pending = this.waiters;
    this.waiters = [];
    for (const waiter of pending) {
      if (this.reached(waiter.targets)) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }
}
