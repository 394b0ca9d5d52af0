/**
 * The part of draining that talks to Kafka: read a plan of the spool (segment-reader.ts) and send
 * what it holds, in order, with an idempotent producer (acks=all, one request in flight).
 * `KafkaSpoolSender` does it on the thread it runs on; `ThreadSpoolSender` runs one in a worker
 * thread (spool-sender-thread.ts), so the Kafka client's encoding, checksums and the reads of the
 * segments leave the API's event loop: they were ~16% of it while it answered pixels
 * (bench/RESULTS.md). The spool's bookkeeping (read position, acknowledgements) stays with the
 * SpoolDrainer on the API's thread, which owns the files.
 */
import { Worker } from 'node:worker_threads';
import { type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { startOrReset } from '../../core/kafka.js';
import { readSpool, SPOOL_SEND_BYTES, type SpoolReadPlan, type SpoolReadResult } from './segment-reader.js';
import { ORDERED_PRODUCER } from '../../core/kafka-partitioner.js';

export interface SentRange extends SpoolReadResult {
  /** timestamp of the last message sent, null when none was */
  lastTimestamp: number | null;
}

export interface SpoolSender {
  /** Reads up to `maxRecords` of `plan` (SPOOL_SEND_BYTES at most) and resolves once Kafka has acknowledged every one of them. */
  send(plan: SpoolReadPlan, maxRecords: number): Promise<SentRange>;
  /**
   * After a failed send: the next one starts on a fresh producer (a timed-out request may have
   * been written after all; a new producer id keeps the broker's sequence check from wedging the
   * retry).
   */
  reset(): Promise<void>;
  /** Ends at once what is in flight (its send rejects; nothing of it counts as sent): a bounded stop. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** Sends on this thread. */
export class KafkaSpoolSender implements SpoolSender {
  private producer: Producer | undefined;

  constructor(private readonly kafka: Kafka) {}

  async send(plan: SpoolReadPlan, maxRecords: number): Promise<SentRange> {
    const { messages, ...read } = readSpool(plan, maxRecords, SPOOL_SEND_BYTES);
    if (messages.length === 0) return { ...read, lastTimestamp: null };
    if (!this.producer) {
      const producer = this.kafka.producer({
        ...ORDERED_PRODUCER,
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      // a producer whose connect met a stalled broker is disconnected, not dropped (core/kafka.ts)
      await startOrReset(() => producer.connect(), () => [producer]);
      this.producer = producer;
    }
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      const message: Message = { key: m.key, value: m.value, timestamp: String(m.timestamp) };
      const list = byTopic.get(m.topic);
      if (list) list.push(message);
      else byTopic.set(m.topic, [message]);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
    await this.producer.sendBatch({ topicMessages, acks: -1 });
    return { ...read, lastTimestamp: messages[messages.length - 1]!.timestamp };
  }

  async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  /** Disconnects the producer: kafkajs may still let the send in flight run to its timeout (ThreadSpoolSender ends it at once). */
  async abort(): Promise<void> {
    await this.reset();
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

/** What the sender thread needs to build its Kafka client (core/kafka.ts createKafka). */
export interface SenderThreadOptions {
  kafkaBrokers: string[];
  kafkaClientId: string;
  requestTimeout: number;
}

/** What the API's thread asks the sender thread; each request carries an id its reply repeats. */
type SenderAsk = { op: 'send'; plan: SpoolReadPlan; maxRecords: number } | { op: 'reset' | 'close' };
export type SenderRequest = SenderAsk & { id: number };
/** An error as it crosses the thread: what the logs and retry decisions read of a kafkajs error. */
export interface ThreadError {
  name: string;
  message: string;
  stack?: string;
  type?: string;
  retriable?: boolean;
  cause?: string;
}

export type SenderReply = { id: number; ok: true; sent?: SentRange } | { id: number; ok: false; error: ThreadError };

/** An error, flattened to cross to the other thread. Pure. */
export function toThreadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { type, retriable, cause } = error as Error & { type?: unknown; retriable?: unknown };
  return {
    name: error.name,
    message: error.message,
    ...(error.stack ? { stack: error.stack } : {}),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof retriable === 'boolean' ? { retriable } : {}),
    ...(cause !== undefined ? { cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) } : {}),
  };
}

/** The error again on this side of the thread, with the other side's stack and kafkajs fields. */
export function fromThreadError(error: ThreadError): Error {
  const rebuilt = Object.assign(new Error(error.message), { name: error.name });
  if (error.stack) rebuilt.stack = error.stack;
  for (const key of ['type', 'retriable', 'cause'] as const) if (error[key] !== undefined) Object.assign(rebuilt, { [key]: error[key] });
  return rebuilt;
}

/** How long a graceful close waits for the thread's producer to disconnect before the thread is ended. */
const CLOSE_WAIT_MS = 5_000;

/**
 * Sends in a worker thread, started at the first send. A thread that dies fails what it was
 * asked (the drainer retries from the same position) and is started again by the next send.
 */
export class ThreadSpoolSender implements SpoolSender {
  private worker: Worker | undefined;
  private nextId = 1;
  /** requests waiting for their thread's answer, each with the thread it was sent to */
  private readonly pending = new Map<number, { worker: Worker; resolve: (reply: SenderReply) => void; reject: (error: Error) => void }>();

  constructor(private readonly options: SenderThreadOptions) {}

  async send(plan: SpoolReadPlan, maxRecords: number): Promise<SentRange> {
    const reply = await this.ask({ op: 'send', plan, maxRecords });
    return reply.sent!;
  }

  async reset(): Promise<void> {
    if (this.worker) await this.ask({ op: 'reset' }).catch(() => undefined);
  }

  async abort(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    // its pending requests fail with the exit (the 'exit' handler)
    await worker?.terminate();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await settlesWithin(this.ask({ op: 'close' }), CLOSE_WAIT_MS);
    if (this.worker === worker) this.worker = undefined;
    await worker.terminate();
  }

  private async ask(request: SenderAsk): Promise<SenderReply & { ok: true }> {
    const worker = this.thread();
    const id = this.nextId++;
    const reply = await new Promise<SenderReply>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.postMessage({ id, ...request } satisfies SenderRequest);
    });
    if (!reply.ok) throw fromThreadError(reply.error);
    return reply;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // a .mjs bootstrap: a worker does not inherit the tsx loader the CLI registered (bin/engagement.js)
    const worker = new Worker(new URL('./spool-sender-thread.mjs', import.meta.url), { workerData: this.options });
    worker.unref();
    worker.on('message', (reply: SenderReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiting?.resolve(reply);
    });
    // only this thread's requests fail with it: a late exit of a replaced thread leaves the new one's alone
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, waiting] of this.pending) {
        if (waiting.worker !== worker) continue;
        this.pending.delete(id);
        waiting.reject(error);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`spool sender thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** Whether `promise` settles (resolved or rejected) within `ms`. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
