/**
 * Reads the whole control topic from the beginning into a ControlHistory (every processor
 * instance needs all of it, so the group id is random: no partition sharing), and, in the
 * `control` role, also applies the events to the shared ControlStore in Redis.
 * `caughtUp()` is the DESIGN §2 barrier: it resolves once everything on the control topic at
 * the time of the call has been read, so a batch gated after it sees every earlier switch.
 */

import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { CONTROL_CONSUMER, CONTROL_RUN } from '../../core/consumer-options.js';
import { EngagementError } from '../../core/errors.js';
import { childLogger } from '../../core/logger.js';
import type { ControlFallback, ControlStore } from '../../projections/control/control-store.js';
import { evolveOrgState, initialOrgState, type OrgState } from '../../projections/control/org-state.js';
import type { EventCodec } from '../../schemas/codec.js';
import { isControlEvent, type ControlEvent } from '../../schemas/events.js';
import { ControlHistory } from '../gate/control-history.js';
import { metrics } from '../metrics.js';

const log = childLogger('control-reader');

export interface ControlReaderOptions {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  codec: EventCodec;
  /** set in the `control` role */
  store?: ControlStore;
}

interface Waiter {
  targets: Map<number, number>;
  resolve: () => void;
}

/** One end-offset check of the control topic: when it started and the ends it saw. */
export interface ControlCheck {
  startedAt: number;
  targets: ReadonlyMap<number, number>;
}

/**
 * Safety margin of the shortcut below: the assumption is that a control event is on the topic at
 * most this long after the time it is stamped with (the API stamps it, then awaits the acks=all
 * produce, which kafkajs may retry for tens of seconds while a broker is in trouble). It is
 * deliberately generous: it only decides which batches may skip the round trip, and a backlog
 * (replay, restart after downtime) is older than it anyway; live batches keep checking.
 */
export const CONTROL_PUBLISH_MARGIN_MS = 5 * 60_000;

/**
 * Pure: may a batch whose newest event time is `newestEventAt` be gated without a new end-offset
 * check? Yes when an earlier check started after `newestEventAt + marginMs` and the history has
 * read up to that check's ends: every control event stamped at or before any of the batch's
 * events was on the topic when that check started, so it is below those ends and already read.
 */
export function controlCheckCovers(check: ControlCheck | undefined, reachedEnds: boolean, newestEventAt: number, marginMs: number): boolean {
  return check !== undefined && reachedEnds && Number.isFinite(newestEventAt) && check.startedAt > newestEventAt + marginMs;
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
  /** the newest check whose ends the history has reached */
  private covered: ControlCheck | undefined;
  private inflight: { startedAt: number; targets: Promise<ControlCheck> } | undefined;
  private readonly marginMs: number;
  stats = { events: 0, rejected: 0, checks: 0, checksSkipped: 0 };
  private readonly eventsByOrg = new Map<string, ControlEvent[]>();
  private storeWatch: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private storeSyncedOnce = false;

  constructor(private readonly options: ControlReaderOptions & { marginMs?: number }) {
    this.marginMs = options.marginMs ?? CONTROL_PUBLISH_MARGIN_MS;
    const groupId = `${options.groupPrefix}.control-reader.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({ groupId, ...CONTROL_CONSUMER });
    this.admin = options.kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      ...CONTROL_RUN,
      eachBatch: async ({ batch }) => {
        const events: ControlEvent[] = [];
        for (const message of batch.messages) {
          try {
            const event = this.options.codec.decode(message.value ?? Buffer.alloc(0));
            if (!isControlEvent(event)) throw new EngagementError('validation_failed', `${event.type} on the control topic`);
            events.push(event);
          } catch (error) {
            this.stats.rejected++;
            log.warn({ partition: batch.partition, offset: message.offset, err: error }, 'unreadable control record skipped');
          }
        }
        this.remember(events);
        if (this.options.store && events.length > 0) await this.options.store.apply(events);
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

  /** Resolves once the history holds every control event written before this call. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    await this.waitFor(await this.check(Date.now()), timeoutMs);
  }

  /**
   * The per-batch barrier: resolves once the history holds every control event that can affect
   * a batch whose newest event time (occurredAt, and the record timestamps) is `newestEventAt`.
   * Skips the end-offset round trip when a previous check already covers it (controlCheckCovers),
   * and shares one in-flight check between concurrent batches when that check covers them too.
   * A backlog (replay, restart after downtime) pays the round trip once.
   */
  async caughtUpFor(newestEventAt: number, timeoutMs = 60_000): Promise<void> {
    if (this.failure) throw this.failure;
    const covered = this.covered;
    if (covered && controlCheckCovers(covered, this.reached(covered.targets), newestEventAt, this.marginMs)) {
      this.stats.checksSkipped++;
      return;
    }
    const earliest = Number.isFinite(newestEventAt) ? newestEventAt + this.marginMs + 1 : Infinity;
    await this.waitFor(await this.check(earliest), timeoutMs);
  }

  /** An end-offset check that started at or after `notBefore` (an in-flight one is shared). */
  private check(notBefore: number): Promise<ControlCheck> {
    const inflight = this.inflight;
    if (inflight && inflight.startedAt >= notBefore) return inflight.targets;
    const startedAt = Date.now();
    this.stats.checks++;
    const targets = this.admin.fetchTopicOffsets(this.options.topic).then(
      (offsets) => ({ startedAt, targets: new Map(offsets.filter((o) => Number(o.high) > 0).map((o) => [o.partition, Number(o.high)])) }),
    );
    const entry = { startedAt, targets };
    this.inflight = entry;
    const clear = (): void => {
      if (this.inflight === entry) this.inflight = undefined;
    };
    targets.then(clear, clear);
    return targets;
  }

  private async waitFor(check: ControlCheck, timeoutMs: number): Promise<void> {
    if (!this.reached(check.targets)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new EngagementError('kafka_unavailable', `control topic not caught up within ${timeoutMs} ms`, { retriable: true }));
        }, timeoutMs);
        const waiter: Waiter = {
          targets: new Map(check.targets),
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        this.waiters.push(waiter);
      });
    }
    if (!this.covered || check.startedAt > this.covered.startedAt) this.covered = check;
  }

  async stop(): Promise<void> {
    clearInterval(this.storeWatch);
    await this.syncing;
    await this.consumer.disconnect();
    await this.admin.disconnect();
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

  contactAllows(orgId: string, contactId: string): boolean {
    return this.history.contactAllowsAt(orgId, contactId, Infinity);
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
      if (await store.isSynced()) return;
      await this.caughtUp();
      await store.apply([...this.eventsByOrg.values()].flat());
      await store.markSynced();
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
