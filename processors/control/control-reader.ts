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
 */

import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { CONTROL_CONSUMER, CONTROL_RUN } from '../../core/consumer-options.js';
import { asEngagementError, EngagementError } from '../../core/errors.js';
import { childLogger } from '../../core/logger.js';
import type { ControlFallback, ControlStore } from '../../projections/control/control-store.js';
import { evolveOrgState, initialOrgState, type OrgState } from '../../projections/control/org-state.js';
import type { EventCodec } from '../../schemas/codec.js';
import { isControlEvent, type AnyEvent, type ControlEvent, type RecipientType } from '../../schemas/events.js';
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
  readonly history = new ControlHistory();
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly positions = new Map<number, number>();
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  /** end offsets of the control topic's non-empty partitions, one ListOffsets shared by concurrent callers */
  private readonly ends = new FreshCheck(async () => {
    this.stats.checks++;
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    return new Map(offsets.filter((o) => Number(o.high) > 0).map((o) => [o.partition, Number(o.high)]));
  });
  stats = { events: 0, rejected: 0, checks: 0 };
  private readonly eventsByOrg = new Map<string, ControlEvent[]>();
  private storeWatch: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private storeSyncedOnce = false;
  /** the control role applies each batch to the store only after its first whole sync */
  private applyLive = false;
  /** unreadable records not dead-lettered yet, with their partition */
  private pendingDeadLetters: Array<{ partition: number; record: RejectedRecord; unreadable: UnreadableRecord }> = [];

  constructor(private readonly options: ControlReaderOptions) {
    const groupId = `${options.groupPrefix}.control-reader.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({ groupId, ...CONTROL_CONSUMER });
    this.admin = options.kafka.admin();
  }

  async start(): Promise<void> {
    await this.options.deadLetters?.connect();
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      ...CONTROL_RUN,
      eachBatch: async ({ batch }) => {
        const events: ControlEvent[] = [];
        let unreadable = false;
        for (const message of batch.messages) {
          let claimedOrg: string | undefined;
          try {
            if (!message.value) throw new EngagementError('decode_failed', 'control record has no value');
            const decoded = this.options.codec.decode(message.value);
            claimedOrg = typeof decoded.orgId === 'string' ? decoded.orgId : undefined;
            events.push(validControlEvent(decoded));
          } catch (caught) {
            const error = asEngagementError(caught, 'decode_failed');
            const record: UnreadableRecord = {
              partition: batch.partition,
              offset: Number(message.offset),
              orgId: orgOfKey(message.key) ?? (claimedOrg || null),
              at: Number.isFinite(Number(message.timestamp)) ? Number(message.timestamp) : 0,
              reason: error.message,
            };
            if (!this.history.markUnreadable(record)) continue;
            unreadable = true;
            this.stats.rejected++;
            const id = `${batch.topic}:${record.partition}:${record.offset}`;
            if (!counted.has(id)) {
              counted.add(id);
              metrics.controlRecordsFailed.inc({ code: error.code });
            }
            if (this.options.store) this.pendingDeadLetters.push({ partition: batch.partition, record: { offset: record.offset, message, error }, unreadable: record });
            log.error({ ...record, code: error.code }, `unreadable control record: nothing of ${record.orgId === null ? 'any organisation' : `organisation "${record.orgId}"`} is collected until an administrator resolves it`);
          }
        }
        this.remember(events);
        if (this.options.store && this.applyLive) {
          if (unreadable || this.pendingDeadLetters.length > 0 || events.some((e) => e.type === 'ControlRecordResolved')) {
            await this.publishUnreadable(this.options.store);
          }
          if (events.length > 0) await this.options.store.apply(events);
        }
        this.stats.events += events.length;
        metrics.processed.inc({ role: 'control' }, batch.messages.length);
        this.positions.set(batch.partition, Number(batch.lastOffset()) + 1);
        this.release();
      },
    });
    if (this.options.store) this.watchStore(this.options.store);
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.failure = payload.error;
      this.release();
    });
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
      const list = this.eventsByOrg.get(event.orgId) ?? [];
      list.push(event);
      this.eventsByOrg.set(event.orgId, list);
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
   * failover) it does so again, and says so.
   */
  private watchStore(store: ControlStore): void {
    const sync = async (): Promise<void> => {
      // The first sync always runs: until it, batches were read but not written (see the header).
      if (this.applyLive && (await store.isSynced())) return;
      await this.caughtUp();
      this.applyLive = true; // batches read from here on are applied as they come (idempotent)
      const token = await store.beginSync();
      await store.apply([...this.eventsByOrg.values()].flat());
      await this.publishUnreadable(store);
      // Not marked when Redis was flushed meanwhile: the next tick rewrites it again.
      if (!(await store.finishSync(token))) return;
      if (this.storeSyncedOnce) {
        metrics.controlStoreRebuilds.inc();
        log.warn({ events: this.history.size }, 'the control store was gone from Redis; rewritten from the control topic');
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

  private reached(targets: ReadonlyMap<number, number>): boolean {
    if (this.failure) throw this.failure;
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
