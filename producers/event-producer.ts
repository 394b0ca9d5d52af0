/**
 * The typed producer other services import: it keys and routes events per DESIGN.md §3, uses
 * an idempotent producer with acks=all, and gathers concurrent sends into one batch for up to
 * `lingerMs`, so a tracking endpoint under load makes few large requests instead of many
 * small ones. `send` resolves only once Kafka has acknowledged the event.
 *
 * With `keys` (every production wiring: API, `engagement produce`), the personal fields of email
 * events are sealed here, the one point every producer passes, with the org's data key
 * (created on the org's first event when it has none; schemas/sealing.ts). Without it events are
 * written in clear, as by a producer from before encryption (tests of old records, the bench's
 * clear baseline). A recipient preference (control topic) is sealed too: contactId under the org
 * key, with its suppression hash (SUPPRESSION_SECRET, `suppressionSecret`) in clear, the only trace
 * of the recipient a purge leaves (DESIGN §2.2). With `keys` but without the secret a preference is
 * refused rather than written in clear.
 */

import { resetClient, startOrReset } from '../core/kafka.js';
import { type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { EngagementError } from '../core/errors.js';
import { controlKey, emailKey, type Topics } from '../core/topics.js';
import { EventCodec } from '../schemas/codec.js';
import type { DataKey, DataKeySource } from '../core/keys/keyring.js';
import { isControlEvent, recipientTypeOf, type AnyEvent, type ContactFollowPreferenceChanged } from '../schemas/events.js';
import { isSealed, isSealedPreference, sealEvent, sealPreference } from '../schemas/sealing.js';
import { suppressionHash } from '../projections/control/suppression.js';
import { ORDERED_PRODUCER } from '../core/kafka-partitioner.js';

export interface EventProducerOptions {
  lingerMs?: number;
  maxBatch?: number;
  codec?: EventCodec;
  /** seal email events and recipient preferences with the org's data key (schemas/sealing.ts) */
  keys?: DataKeySource;
  /** SUPPRESSION_SECRET: the clear hash a sealed preference carries (required to seal one) */
  suppressionSecret?: string;
  /**
   * Whether a data key may be created for an org that has none (after the keys topic was read to
   * its end). A purged org's key was destroyed on purpose: a late event must not bring a new one
   * (and the org's personal data back to the log). Without it keys are created on demand.
   */
  mayCreateKey?: (orgId: string) => Promise<boolean>;
}

export const PRODUCER_DEFAULTS = { lingerMs: 2, maxBatch: 2000 } as const;

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function routeEvent(topics: Topics, event: AnyEvent): { topic: string; key: string } {
  if (isControlEvent(event)) return { topic: topics.control, key: controlKey(event.orgId) };
  return { topic: topics.emails, key: emailKey(event.orgId, event.emailId) };
}

export class EventProducer {
  private readonly producer: Producer;
  private readonly codec: EventCodec;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private connected = false;
  private disconnects = 0;
  private readonly keys: DataKeySource | undefined;
  private readonly mayCreateKey: ((orgId: string) => Promise<boolean>) | undefined;
  private readonly suppressionSecret: string | undefined;
  /** orgId -> events waiting for the org's key to be created: later events of the org queue behind them */
  private readonly waitingForKey = new Map<string, Promise<unknown>>();

  constructor(
    kafka: Kafka,
    private readonly topics: Topics,
    options: EventProducerOptions = {},
  ) {
    this.producer = kafka.producer(ORDERED_PRODUCER);
    this.codec = options.codec ?? new EventCodec();
    this.lingerMs = options.lingerMs ?? PRODUCER_DEFAULTS.lingerMs;
    this.maxBatch = options.maxBatch ?? PRODUCER_DEFAULTS.maxBatch;
    this.keys = options.keys;
    this.suppressionSecret = options.suppressionSecret;
    this.mayCreateKey = options.mayCreateKey;
  }

  /** The org's key: held, read from the keys topic, or created when `mayCreateKey` allows it. */
  private async keyFor(keys: DataKeySource, orgId: string): Promise<DataKey> {
    if (this.mayCreateKey && keys.caughtUp) {
      await keys.caughtUp();
      const held = keys.current(orgId);
      if (held) return held;
      if (!(await this.mayCreateKey(orgId))) {
        throw new EngagementError('engagement_disabled', `organisation ${orgId} was purged and is not enabled again: its events are not written (its data key was destroyed)`);
      }
    }
    return keys.ensure(orgId);
  }

  /** Can be called again after it failed; once connected (kafkajs then reconnects by itself) it returns at once. */
  async connect(): Promise<void> {
    if (this.connected) return;
    const disconnects = this.disconnects;
    await startOrReset(() => this.producer.connect(), () => [this.producer]);
    if (this.disconnects !== disconnects) {
      // disconnect() ran while this connect was under way (an API stopped during an outage)
      await resetClient(this.producer);
      throw new EngagementError('superseded', 'the producer was disconnected while it connected');
    }
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.disconnects++;
    await this.flush();
    await this.producer.disconnect();
    this.connected = false;
  }

  /** Encodes (throws a validation error synchronously on a bad event) and sends one event. */
  send(event: AnyEvent): Promise<void> {
    if (!this.connected) return Promise.reject(new EngagementError('kafka_unavailable', 'producer is not connected'));
    const keys = this.keys;
    if (!keys) return this.enqueue(event);
    let seal: (key: DataKey) => AnyEvent;
    if (event.type === 'ContactFollowPreferenceChanged') {
      if (isSealedPreference(event)) return this.enqueue(event);
      let withHash: typeof event;
      try {
        withHash = this.withSuppressionHash(event);
      } catch (error) {
        return Promise.reject(error);
      }
      seal = (key) => sealPreference(withHash, key);
    } else if (isControlEvent(event) || isSealed(event)) return this.enqueue(event);
    else seal = (key) => sealEvent(event, key);
    const waiting = this.waitingForKey.get(event.orgId);
    const known = waiting ? undefined : keys.current(event.orgId);
    if (known) return this.enqueue(seal(known));
    // The org has no key here yet: create (or read) it; the org's later events wait behind this one.
    const sealed = (waiting ?? Promise.resolve()).then(() => this.keyFor(keys, event.orgId)).then(seal);
    const queued = sealed.then((e) => this.enqueue(e));
    const marker = sealed.catch(() => undefined);
    this.waitingForKey.set(event.orgId, marker);
    void marker.then(() => {
      if (this.waitingForKey.get(event.orgId) === marker) this.waitingForKey.delete(event.orgId);
    });
    return queued;
  }

  private withSuppressionHash(event: ContactFollowPreferenceChanged): ContactFollowPreferenceChanged {
    if (event.suppressionHash) return event;
    const secret = this.suppressionSecret;
    if (secret === undefined) throw new EngagementError('config_invalid', 'this producer has no SUPPRESSION_SECRET: it cannot seal a recipient preference');
    return { ...event, suppressionHash: suppressionHash(secret, event.orgId, recipientTypeOf(event), event.contactId) };
  }

  private enqueue(event: AnyEvent): Promise<void> {
    const { topic, key } = routeEvent(this.topics, event);
    const message: Message = { key, value: this.codec.encode(event), timestamp: String(event.occurredAt) };
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.schedule(0);
      else this.schedule(this.lingerMs);
    });
  }

  async sendAll(events: readonly AnyEvent[]): Promise<void> {
    await Promise.all(events.map((event) => this.send(event)));
  }

  /** True between connect() and disconnect(); kafkajs reconnects to brokers on its own in between. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** Sends whatever is queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    // Drain synchronously: waiting for a timer here would re-enter flush() in a microtask loop
    // that never lets the timer fire.
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight = this.inFlight.then(() => this.sendBatch(batch));
    }
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = this.queue.splice(0, this.maxBatch);
      if (this.queue.length > 0) this.schedule(this.lingerMs);
      // One request at a time keeps the idempotent producer's ordering guarantee.
      this.inFlight = this.inFlight.then(() => this.sendBatch(batch));
    }, delayMs);
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const item of batch) {
      const list = byTopic.get(item.topic);
      if (list) list.push(item.message);
      else byTopic.set(item.topic, [item.message]);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    try {
      await this.producer.sendBatch({ topicMessages, acks: -1 });
      for (const item of batch) item.resolve();
    } catch (cause) {
      const error = new EngagementError('kafka_unavailable', `could not write ${batch.length} events to Kafka: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
      for (const item of batch) item.reject(error);
    }
  }
}
