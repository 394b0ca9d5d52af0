/**
 * Sends what the spool holds to Kafka, in spool order, one batch at a time, through a SpoolSender
 * (spool-sender.ts: an idempotent producer, acks=all, one request in flight, in a worker thread or
 * on this one), and acknowledges the batch in the spool only once Kafka has. A failed batch is
 * retried from the same position after a backoff, on a fresh producer (SpoolSender.reset): a
 * record may then reach the topic twice, and the projector counts an eventId once (DESIGN §4), so
 * the KPIs stay exact.
 */
import type { SegmentSpool } from './segment-spool.js';
import { settlesWithin, type SpoolSender } from './spool-sender.js';

/**
 * paceMs: the pause after a request that carried everything the spool held, before the next one
 * (which would otherwise carry only what came during the last round trip). Sending as soon as the
 * last request was acknowledged carried ~110 records per request under a steady pixel load
 * (counted); pausing, ~450 at 22k pixels/s (22k × 20 ms, not counted), and it cut the box's CPU per
 * pixel by ~12% (Kafka's and the sender thread's share of it: bench/RESULTS.md, twentieth
 * session). The records wait on disk meanwhile.
 * stopInFlightMs: how long a stop waits for the batch in flight before ending it (it stays in the spool)
 */
export const DRAINER_DEFAULTS = { batchRecords: 2000, lingerMs: 5, paceMs: 20, minBackoffMs: 100, maxBackoffMs: 5000, stalledMs: 2000, stopInFlightMs: 2000 } as const;

export interface DrainerOptions {
  batchRecords?: number;
  /** DRAINER_DEFAULTS.paceMs */
  paceMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** told about every failed batch (logged and counted by the caller) */
  onError?: (error: Error, records: number) => void;
  /** told about every acknowledged batch */
  onSent?: (records: number) => void;
}

export class SpoolDrainer {
  private running: Promise<void> | undefined;
  private stopping = false;
  private backoff: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private failing = false;
  private drained: (() => void) | undefined;
  private inFlightSince: number | undefined;
  private readonly batchRecords: number;
  private readonly paceMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly spool: SegmentSpool,
    private readonly sender: SpoolSender,
    private readonly options: DrainerOptions = {},
  ) {
    this.batchRecords = options.batchRecords ?? DRAINER_DEFAULTS.batchRecords;
    this.paceMs = options.paceMs ?? DRAINER_DEFAULTS.paceMs;
    this.minBackoffMs = options.minBackoffMs ?? DRAINER_DEFAULTS.minBackoffMs;
    this.maxBackoffMs = options.maxBackoffMs ?? DRAINER_DEFAULTS.maxBackoffMs;
  }

  /** False from a failed batch until the next acknowledged one, or while a batch waits for Kafka
   *  longer than `stalledMs` (a stalled broker answers nothing, so no error comes for a while). */
  get healthy(): boolean {
    return !this.failing && (this.inFlightSince === undefined || Date.now() - this.inFlightSince < DRAINER_DEFAULTS.stalledMs);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /**
   * Stops after the batch in flight. With `drainMs`, first keeps sending until the spool is empty,
   * Kafka fails, or the time is up; what stays unsent waits in the spool for the next start.
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.drainMs ?? 0);
    // a failing or stalled drain ends the wait at once: a stalled batch would only end with the client's timeouts
    while (!this.stopping && this.spool.stats().records > 0 && this.healthy && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, 50).unref();
      });
    }
    this.stopping = true;
    this.spool.wakeUp();
    if (this.backoff) {
      clearTimeout(this.backoff.timer);
      this.backoff.resolve();
    }
    // A batch waiting on a stalled broker would hold the stop for the client's timeouts and retries
    // (tens of seconds, past a supervisor's grace period): it is ended, and sent again at the next start.
    if (this.running && !(await settlesWithin(this.running, DRAINER_DEFAULTS.stopInFlightMs))) await this.sender.abort();
    await this.running;
    await this.sender.close();
  }

  private async loop(): Promise<void> {
    let delay = this.minBackoffMs;
    while (!this.stopping) {
      if (this.spool.unread === 0) {
        await this.spool.waitForData();
        // a few ms of linger gather a trickle into one request (and one ACKED write)
        if (this.spool.unread < this.batchRecords) await this.sleep(DRAINER_DEFAULTS.lingerMs);
        continue;
      }
      // read where the last acknowledged batch ended: a failed one is read and sent again
      const plan = this.spool.plan();
      this.inFlightSince = Date.now();
      let pace = false;
      try {
        const sent = await this.sender.send(plan, this.batchRecords);
        this.spool.advance(plan, sent);
        this.spool.ack(sent.end, sent.records, sent.lastTimestamp);
        if (sent.records > 0) this.options.onSent?.(sent.records);
        this.drained?.();
        this.failing = false;
        delay = this.minBackoffMs;
        // the batch took all the spool held when it was read (no record or byte cap): what came
        // since is less than a request can carry, and waiting lets more join it
        pace = sent.exhausted && this.spool.unread > 0 && this.spool.unread < this.batchRecords;
      } catch (error) {
        if (this.stopping) break; // ended by stop(): the batch stays in the spool
        this.failing = true;
        this.options.onError?.(error as Error, Math.min(this.spool.unread, this.batchRecords));
        await this.sender.reset();
        if (this.stopping) break;
        await this.sleep(delay);
        delay = Math.min(this.maxBackoffMs, delay * 2);
      } finally {
        this.inFlightSince = undefined;
      }
      if (pace) await this.sleep(this.paceMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.backoff = {
        timer: setTimeout(() => {
          this.backoff = undefined;
          resolve();
        }, ms),
        resolve,
      };
    });
  }
}
