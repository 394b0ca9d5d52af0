/**
 * Reads the whole control topic from the beginning into a ControlHistory (every processor
 * instance needs all of it, so the group id is random: no partition sharing), and, in the
 * `control` role, also applies the events to the shared ControlStore in Redis.
 * `caughtUp()` is the DESIGN §2 barrier: it resolves once everything on the control topic at
 * the time of the call has been read, so a batch gated after it sees every switch acknowledged
 * before the batch was received — exactly, whatever the age of the batch.
 *
 * Fail closed: a record that cannot be decoded or validated may have been a disable or an
 * opt-out, so it blocks its organisation (the record key; every organisation when the key is
 * unreadable too) from the record's timestamp until an administrator's ControlRecordResolved
 * (`POST /v1/orgs/:orgId/control/resolve`). Every reader counts it
 * (engagement_control_records_failed_total); the control role dead-letters it and lists it in
 * the control store (P:ctl:unreadable) so the API refuses to follow the org's emails meanwhile.
 * The control role writes the store only once it has read the whole topic, so a purged org's
 * old preferences, read before its OrgPurged, are never written back in the clear.
 *
 * Sealed preferences (schemas/sealing.ts, v3): contactId is opened with the org's data key,
 * waiting for the keys topic when this process does not hold it yet. A key still unknown then
 * was destroyed by a purge — the record's OrgPurged is on this topic (a purge writes it before it
 * destroys the key), in this batch or before the topic's end at that moment — and the record is
 * kept by its suppression hash alone, all a purged org needs; or, for an org never purged, it
 * fails closed as an unreadable record (`key_unknown`). Until that verdict
 * `caughtUp()` waits, so nothing is gated without it.
 */

import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { CONTROL_CONSUMER, CONTROL_RUN } from '../../core/consumer-options.js';
import { startOrReset } from '../../core/kafka.js';
import { asEngagementError, EngagementError } from '../../core/errors.js';
import { childLogger } from '../../core/logger.js';
import { endsOf, nonEmptyEndsOf, readTopicOffsets } from '../../core/topic-offsets.js';
import type { ControlFallback, ControlStore } from '../../projections/control/control-store.js';
import { evolveOrgState, initialOrgState, type OrgState } from '../../projections/control/org-state.js';
import type { EventCodec } from '../../schemas/codec.js';
import { isControlEvent, type AnyEvent, type ContactFollowPreferenceChanged, type ControlEvent, type RecipientType } from '../../schemas/events.js';
import { idCharsProblem } from '../../schemas/ids.js';
import { isSealedPreference, openPreference } from '../../schemas/sealing.js';
import { FIELD_ALGORITHM, FieldCipherError } from '../../core/crypto/field-cipher.js';
import { keyMetrics } from '../../core/keys/key-metrics.js';
import type { DataKeys } from '../../core/keys/keyring.js';
import { suppressionHash } from '../../projections/control/suppression.js';
import { purgeToFinishAgain, type PurgeRecord } from '../../projections/purge-record.js';
import { ControlHistory, type UnreadableRecord } from '../gate/control-history.js';
import type { DeadLetterWriter } from '../dead-letter.js';
import type { RejectedRecord } from '../decode-records.js';
import { FreshCheck } from './fresh-check.js';
import { metrics } from '../metrics.js';

const log = childLogger('control-reader');

export interface ControlReaderOptions {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  codec: EventCodec;
  /** set in the `control` role */
  store?: ControlStore;
  /** set in the `control` role: where unreadable control records go */
  deadLetters?: DeadLetterWriter;
  /** the org data keys that open sealed preferences; without them every sealed preference is judged as if its key were unknown */
  keys?: DataKeys & { caughtUp(): Promise<void> };
  /** SUPPRESSION_SECRET: how the gate finds a recipient among the preferences a purge left only as hashes */
  suppressionSecret?: string;
}

type Message = KafkaMessage;

/** A sealed preference whose key is unknown: judged once the topic is read to `target` (or its OrgPurged is read). */
interface AwaitingVerdict {
  partition: number;
  offset: number;
  message: Message;
  event: ContactFollowPreferenceChanged;
  target: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Unreadable records counted by this process (one count per record, whatever the readers). */
const counted = new Set<string>();

interface Waiter {
  targets: Map<number, number>;
  resolve: () => void;
}

/** How often the control role checks that Redis still holds the control store. */
const STORE_WATCH_MS = 1000;

export class ControlReader implements ControlFallback {
  readonly history: ControlHistory;
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly positions = new Map<number, number>();
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  /** end offsets of the control topic's non-empty partitions, one ListOffsets shared by concurrent callers */
  private readonly ends = new FreshCheck(async () => {
    this.stats.checks++;
    return nonEmptyEndsOf(await readTopicOffsets(this.admin, this.options.topic));
  });
  stats = { events: 0, rejected: 0, checks: 0 };
  private readonly eventsByOrg = new Map<string, ControlEvent[]>();
  /** the orgs of eventsByOrg whose id has an at sign (their control keys were named after it before: keys.ts controlOrgRef) */
  private readonly addressOrgs = new Set<string>();
  private storeWatch: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private storeSyncedOnce = false;
  private identityUnknownSaid = false;
  private consumerRunning = false;
  private stopped = false;
  /** the control role applies each batch to the store only after its first whole sync */
  private applyLive = false;
  /** unreadable records not dead-lettered yet, with their partition */
  private pendingDeadLetters: Array<{ partition: number; record: RejectedRecord; unreadable: UnreadableRecord }> = [];
  private awaitingVerdict: AwaitingVerdict[] = [];

  constructor(private readonly options: ControlReaderOptions) {
    const secret = options.suppressionSecret;
    this.history = new ControlHistory(secret === undefined ? undefined : (orgId, type, id) => suppressionHash(secret, orgId, type, id));
    const groupId = `${options.groupPrefix}.control-reader.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({ groupId, ...CONTROL_CONSUMER });
    this.admin = options.kafka.admin();
  }

  /** Can be called again after it failed (Kafka unreachable): once the consumer runs, kafkajs reconnects by itself. */
  async start(): Promise<void> {
    if (this.consumerRunning) return;
    await startOrReset(() => this.startClients(), () => (this.consumerRunning ? [this.admin] : [this.admin, this.consumer]));
  }

  /** start() and the first catch-up, for a caller that repeats both until Kafka answers (the API). */
  async startAndCatchUp(): Promise<void> {
    await this.start();
    await startOrReset(() => this.caughtUp(), () => [this.admin]);
  }

  private async startClients(): Promise<void> {
    await this.options.deadLetters?.connect();
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    // stop() ran while the connect was under way (an API stopped during an outage): do not run a stopped reader
    if (this.stopped) throw new EngagementError('superseded', 'control reader stopped while it was starting');
    await this.consumer.run({
      ...CONTROL_RUN,
      eachBatch: async ({ batch }) => {
        let unreadable = false;
        const read: Array<{ message: Message; event: ControlEvent }> = [];
        for (const message of batch.messages) {
          let claimedOrg: string | undefined;
          try {
            if (!message.value) throw new EngagementError('decode_failed', 'control record has no value');
            const decoded = this.options.codec.decode(message.value);
            claimedOrg = typeof decoded.orgId === 'string' ? decoded.orgId : undefined;
            read.push({ message, event: validControlEvent(decoded) });
          } catch (caught) {
            if (this.fail(batch.topic, batch.partition, message, asEngagementError(caught, 'decode_failed'), claimedOrg)) unreadable = true;
          }
        }
        const events = await this.openSealed(batch.topic, batch.partition, read);
        if (events.failed) unreadable = true;
        const judged = this.judgeAwaiting(batch.topic, batch.partition, Number(batch.lastOffset()) + 1, events.ok);
        if (judged.failed) unreadable = true;
        events.ok.push(...judged.ok);
        this.remember(events.ok);
        if (this.options.store && this.applyLive) {
          if (unreadable || this.pendingDeadLetters.length > 0 || events.ok.some((e) => e.type === 'ControlRecordResolved')) {
            await this.publishUnreadable(this.options.store);
          }
          if (events.ok.length > 0) await this.options.store.apply(events.ok);
        }
        this.stats.events += events.ok.length;
        metrics.processed.inc({ role: 'control' }, batch.messages.length);
        this.positions.set(batch.partition, Number(batch.lastOffset()) + 1);
        this.release();
      },
    });
    this.consumerRunning = true;
    if (this.options.store) this.watchStore(this.options.store);
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.failure = payload.error;
      this.release();
    });
  }

  /**
   * Counts, logs and (control role) queues for the dead-letter topic an unreadable record, which
   * blocks its org from the record's time (fail closed). True when it was not known yet.
   */
  private fail(topic: string, partition: number, message: Message, error: EngagementError, claimedOrg: string | undefined): boolean {
    const record: UnreadableRecord = {
      partition,
      offset: Number(message.offset),
      orgId: orgOfKey(message.key) ?? (claimedOrg || null),
      at: Number.isFinite(Number(message.timestamp)) ? Number(message.timestamp) : 0,
      reason: error.message,
    };
    if (!this.history.markUnreadable(record)) return false;
    this.stats.rejected++;
    const id = `${topic}:${record.partition}:${record.offset}`;
    if (!counted.has(id)) {
      counted.add(id);
      metrics.controlRecordsFailed.inc({ code: error.code });
    }
    if (this.options.store) this.pendingDeadLetters.push({ partition, record: { offset: record.offset, message, error }, unreadable: record });
    log.error({ ...record, code: error.code }, `unreadable control record: nothing of ${record.orgId === null ? 'any organisation' : `organisation "${record.orgId}"`} is collected until an administrator resolves it`);
    return true;
  }

  /**
   * Opens the sealed preferences of a batch (the keys topic read to its end first when a key is
   * not held). One that does not open fails closed (`decrypt_failed`); one whose key is still
   * unknown waits for its verdict (judgeAwaiting).
   */
  private async openSealed(topic: string, partition: number, read: ReadonlyArray<{ message: Message; event: ControlEvent }>): Promise<{ ok: ControlEvent[]; failed: boolean }> {
    let results = read.map(({ event }) => this.open(event));
    const keys = this.options.keys;
    if (keys && results.some((r) => r === 'missing')) {
      await keys.caughtUp();
      results = results.map((r, i) => (r === 'missing' ? this.open(read[i]!.event) : r));
    }
    let target: number | undefined;
    if (results.some((r) => r === 'missing')) {
      target = endsOf(await readTopicOffsets(this.admin, topic)).get(partition) ?? 0;
    }
    const ok: ControlEvent[] = [];
    let failed = false;
    results.forEach((result, i) => {
      const { message, event } = read[i]!;
      if (result === 'missing') {
        this.awaitingVerdict.push({ partition, offset: Number(message.offset), message, event: event as ContactFollowPreferenceChanged, target: target! });
      } else if (result instanceof EngagementError) {
        if (this.fail(topic, partition, message, result, event.orgId)) failed = true;
      } else ok.push(result);
    });
    return { ok, failed };
  }

  private open(event: ControlEvent): ControlEvent | EngagementError | 'missing' {
    if (event.type !== 'ContactFollowPreferenceChanged' || !isSealedPreference(event)) return event;
    if (!event.suppressionHash) return new EngagementError('validation_failed', 'a sealed ContactFollowPreferenceChanged carries no suppressionHash');
    if (event.encryption.algorithm !== FIELD_ALGORITHM) {
      keyMetrics.decryptFailures.inc({ reason: 'malformed' });
      return new EngagementError('decrypt_failed', `ContactFollowPreferenceChanged is sealed with unknown algorithm "${event.encryption.algorithm}"`);
    }
    const key = this.options.keys?.key(event.orgId, event.encryption.keyId);
    if (!key) return 'missing';
    try {
      return openPreference(event, key);
    } catch (error) {
      if (!(error instanceof FieldCipherError)) throw error;
      keyMetrics.decryptFailures.inc({ reason: 'auth_failed' });
      return new EngagementError('decrypt_failed', `ContactFollowPreferenceChanged of org "${event.orgId}" does not open with data key ${event.encryption.keyId}: ${error.message}`);
    }
  }

  /**
   * The verdict on sealed preferences whose key is unknown: a purge of their org (in the history
   * or in `batch`) destroyed the key, so they stay sealed and count by their suppression hash
   * (all the gate and the suppression list need); once the partition is read to the end it had
   * when the key was found missing without any purge, the org was never purged: fail closed.
   */
  private judgeAwaiting(topic: string, partition: number, position: number, batch: readonly ControlEvent[]): { ok: ControlEvent[]; failed: boolean } {
    const ok: ControlEvent[] = [];
    let failed = false;
    // Any purge of the org, not only one after the record: a preference accepted in the instant
    // between a purge's OrgPurged and its key's tombstone was sealed with the key it destroyed.
    const purged = (orgId: string): boolean => this.history.purgedAt(orgId) !== null || batch.some((e) => e.type === 'OrgPurged' && e.orgId === orgId);
    this.awaitingVerdict = this.awaitingVerdict.filter((waiting) => {
      if (waiting.partition !== partition) return true;
      if (purged(waiting.event.orgId)) {
        ok.push(waiting.event);
        return false;
      }
      if (position < waiting.target) return true;
      keyMetrics.decryptFailures.inc({ reason: 'key_unknown' });
      const keyId = waiting.event.encryption?.keyId ?? '?';
      const error = new EngagementError('key_unknown', `ContactFollowPreferenceChanged of org "${waiting.event.orgId}" is sealed with data key ${keyId}, which is not on the keys topic, and the org was never purged`);
      if (this.fail(topic, partition, waiting.message, error, waiting.event.orgId)) failed = true;
      return false;
    });
    return { ok, failed };
  }

  /**
   * The DESIGN §2 barrier, called for every batch after it was received and before it is gated:
   * resolves once the history holds every control event on the topic when this was called, from
   * an end-offset check that started after the call (FreshCheck; concurrent callers share it).
   * No shortcut by the batch's age: a replay pays one round trip per wave of batches.
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    if (this.failure) throw this.failure;
    await this.waitFor(await this.ends.after(), timeoutMs);
  }

  private async waitFor(targets: ReadonlyMap<number, number>, timeoutMs: number): Promise<void> {
    if (this.reached(targets)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new EngagementError('kafka_unavailable', `control topic not caught up within ${timeoutMs} ms`, { retriable: true }));
      }, timeoutMs);
      const waiter: Waiter = {
        targets: new Map(targets),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * partition -> next control offset read: every event before it is in `history`. A sink that
   * takes this and then gates (synchronously) gates with at least those events.
   */
  positionsRead(): Map<number, number> {
    return new Map(this.positions);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.storeWatch);
    await this.syncing;
    await this.consumer.disconnect();
    await this.admin.disconnect();
    await this.options.deadLetters?.disconnect();
  }

  /**
   * Control role: dead-letters the unreadable records still unresolved (one resolved before this
   * process read it was dead-lettered by the run that first read it) and lists them in the store.
   */
  private async publishUnreadable(store: ControlStore): Promise<void> {
    const unresolved = this.history.unresolved();
    const open = new Set(unresolved.map((r) => `${r.partition}:${r.offset}`));
    this.pendingDeadLetters = this.pendingDeadLetters.filter((p) => open.has(`${p.unreadable.partition}:${p.unreadable.offset}`));
    // one at a time, dropped from the list once Kafka acknowledged it: a failure retries the rest
    while (this.options.deadLetters && this.pendingDeadLetters.length > 0) {
      const { partition, record } = this.pendingDeadLetters[0]!;
      await this.options.deadLetters.send([record], { topic: this.options.topic, partition, group: 'control' });
      this.pendingDeadLetters.shift();
    }
    await store.setUnreadable(unresolved);
  }

  // --- ControlFallback: the current state, from the topic, for readers whose Redis copy is gone ---

  remember(events: readonly ControlEvent[]): void {
    for (const event of events) {
      if (!this.history.apply(event)) continue;
      const list = this.eventsByOrg.get(event.orgId);
      if (list) list.push(event);
      else {
        this.eventsByOrg.set(event.orgId, [event]);
        if (idCharsProblem(event.orgId) !== null) this.addressOrgs.add(event.orgId);
      }
    }
  }

  orgState(orgId: string): OrgState {
    return (this.eventsByOrg.get(orgId) ?? []).reduce(evolveOrgState, initialOrgState(orgId));
  }

  contactAllows(orgId: string, contactId: string, type: RecipientType = 'contact'): boolean {
    return this.history.contactAllowsAt(orgId, contactId, Infinity, type);
  }

  orgIds(): string[] {
    return [...this.eventsByOrg.keys()];
  }

  /**
   * The control role keeps the Redis store whole: once it has read the topic to its end it writes
   * every event (idempotent) and marks the store synced; whenever the mark is gone (FLUSHDB, a
   * failover to an empty replica), or Redis is another one than it wrote to (a restart from an
   * older snapshot, a failover to a replica that lagged: the mark kept, recent writes lost), it
   * does so again, and says so.
   */
  private watchStore(store: ControlStore): void {
    const sync = async (): Promise<void> => {
      // The first sync always runs: until it, batches were read but not written (see the header).
      const { marked, synced, identity, layout1Synced } = await store.syncState();
      if (identity === null && !this.identityUnknownSaid) {
        this.identityUnknownSaid = true;
        log.warn('Redis does not say which it is (INFO refused, or without run_id): a restart or failover that keeps the control store\'s synced mark but loses recent writes will not be noticed');
      }
      if (this.applyLive && synced) {
        await this.dropLegacyControlKeys(store, false);
        return;
      }
      await this.caughtUp();
      this.applyLive = true; // batches read from here on are applied as they come (idempotent)
      const token = await store.beginSync();
      // before the topic is applied: its preferences decide again over the suppressions merged from the old names
      await this.dropLegacyControlKeys(store, true);
      await store.apply([...this.eventsByOrg.values()].flat());
      await this.publishUnreadable(store);
      // Redis may have lost writes (no mark, or a mark of another Redis): what it lost may have
      // brought back what a purge deleted, or the record of a purge under way. Retention finishes
      // every purge again from its fence (idempotent); not when this Redis kept its mark.
      // (An older version's mark on this Redis is an upgrade, not a loss.)
      if (!synced && !layout1Synced) await this.recordPurgesToFinish(store);
      // Not marked when Redis was flushed meanwhile: the next tick rewrites it again.
      if (!(await store.finishSync(token, identity))) return;
      if (this.storeSyncedOnce) {
        metrics.controlStoreRebuilds.inc();
        if (marked) log.warn({ events: this.history.size }, 'Redis restarted or failed over (the control store may have lost recent writes); rewritten from the control topic');
        else log.warn({ events: this.history.size }, 'the control store was gone from Redis; rewritten from the control topic');
      }
      this.storeSyncedOnce = true;
    };
    const tick = (): void => {
      this.syncing ??= sync()
        .catch((err: unknown) => log.warn({ err }, 'control store sync failed; trying again'))
        .finally(() => {
          this.syncing = undefined;
        });
    };
    tick();
    this.storeWatch = setInterval(tick, STORE_WATCH_MS);
    this.storeWatch.unref();
  }

  /**
   * The control keys org ids with an at sign had under their own names before those became digests
   * (projections/keys.ts controlOrgRef), dropped: at a rewrite, before it applies the topic, for the
   * orgs of the topic and every org the store lists (one the topic holds nothing readable of), their
   * suppressions kept; at every tick for the orgs of the topic (an instance of the older version
   * still running during an upgrade may write them again).
   */
  private async dropLegacyControlKeys(store: ControlStore, rewrite: boolean): Promise<void> {
    const orgIds = new Set(this.addressOrgs);
    if (rewrite) for (const orgId of await store.storedOrgIds()) if (idCharsProblem(orgId) !== null) orgIds.add(orgId);
    if (orgIds.size === 0) return;
    const dropped = await store.dropLegacyControlKeys(orgIds, rewrite);
    if (dropped > 0) log.info({ keys: dropped }, 'dropped the control keys that org ids with an at sign had under their own names; the store keeps them under digests');
  }

  private async recordPurgesToFinish(store: ControlStore): Promise<void> {
    const ends = Object.fromEntries([...this.positions].map(([partition, offset]) => [String(partition), offset]));
    const records = new Map<string, PurgeRecord>();
    for (const [orgId, events] of this.eventsByOrg) {
      const record = purgeToFinishAgain(orgId, events, ends);
      if (record) records.set(orgId, record);
    }
    const recorded = await store.recordPurgesToFinish(records);
    if (recorded.length > 0) log.warn({ orgs: recorded }, 'purges recorded again for retention to finish: Redis may have lost writes, and with them what a purge had deleted');
  }

  private reached(targets: ReadonlyMap<number, number>): boolean {
    if (this.failure) throw this.failure;
    if (this.awaitingVerdict.length > 0) return false;
    for (const [partition, high] of targets) if ((this.positions.get(partition) ?? 0) < high) return false;
    return true;
  }

  private release(): void {
    const pending = this.waiters;
    this.waiters = [];
    for (const waiter of pending) {
      let done = false;
      try {
        done = this.reached(waiter.targets);
      } catch {
        done = true; // the failure surfaces on the caller's next caughtUp()
      }
      if (done) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }
}

/** The organisation a control record's key names, or null when the key is missing or not text. */
function orgOfKey(key: Buffer | null | undefined): string | null {
  if (!key || key.length === 0) return null;
  const text = key.toString('utf8');
  return Buffer.from(text, 'utf8').equals(key) ? text : null;
}

/** The decoded record as a control event, or a throw saying why it is not a valid one. */
function validControlEvent(event: AnyEvent): ControlEvent {
  if (!isControlEvent(event)) throw new EngagementError('validation_failed', `${event.type} on the control topic`);
  if (!UUID.test(event.eventId)) throw new EngagementError('validation_failed', 'eventId must be a UUID');
  if (event.orgId === '') throw new EngagementError('validation_failed', 'orgId must not be empty');
  if (event.type === 'ContactFollowPreferenceChanged' && event.contactId === '') throw new EngagementError('validation_failed', 'contactId must not be empty');
  return event;
}
