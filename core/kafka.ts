import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Config } from './config.js';
import { EngagementError } from './errors.js';
import { childLogger } from './logger.js';

const log = childLogger('kafkajs');

// Every producer here names its partitioner; the v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
/** Warnings kafkajs prints on every start that say nothing about this deployment. */
const KNOWN_NOISE = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];
/**
 * Protocol errors kafkajs logs as errors although a rebalance, a broker start or a new topic's
 * leadership settling makes them routine (the clients and readTopicOffsets retry them).
 */
const ROUTINE_ERRORS = /rebalancing|coordinator is not available|not the correct coordinator|coordinator is loading|not the leader for that topic-partition|no leader for this topic-partition/i;

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our structured logger; its chatty INFO lines are demoted to debug. */
export function createKafka(config: Pick<Config, 'kafkaBrokers' | 'kafkaClientId'>, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.kafkaClientId,
    brokers: config.kafkaBrokers,
    connectionTimeout: 5000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (KNOWN_NOISE.includes(message)) return;
        const routine = level === logLevel.ERROR && ROUTINE_ERRORS.test(String(rest.error ?? ''));
        log[routine ? 'debug' : (LEVELS[level] ?? 'info')](rest, message);
      },
    ...overrides,
  });
}

/**
 * After a failed connect: a kafkajs client that tried to connect to a broker that took the TCP
 * connection but answered nothing (stalled, SIGSTOP) can keep a broker it believes connected and
 * fail every later connect with "Broker not connected", even with the broker back. Disconnecting
 * empties its broker pool, so the next connect starts from the seed brokers again.
 */
export async function resetClient(client: { disconnect(): Promise<void> }): Promise<void> {
  await client.disconnect().catch(() => undefined);
}

/** Runs a start that can be repeated; when it fails, the clients it names are reset first (resetClient). */
export async function startOrReset(start: () => Promise<void>, clients: () => ReadonlyArray<{ disconnect(): Promise<void> }>): Promise<void> {
  try {
    await start();
  } catch (error) {
    for (const client of clients()) await resetClient(client);
    throw error;
  }
}

/**
 * How long to retry what a new topic's leadership settling (a second or two) or a broker restart
 * (seconds) fails: short first waits keep a start quick; the deadline is the order of the
 * caught-up waits'. Used by the offset reads (core/topic-offsets.ts) and topic creation.
 */
export const SETTLE_RETRY = { deadlineMs: 30_000, backoff: { baseMs: 100, capMs: 2_000 } } as const;

/**
 * A kafkajs error as ours: retriable exactly when kafkajs says so (a partition without its leader
 * yet, a lost connection, a timeout); not when it refused or already gave up (a missing topic
 * after its own retries, bad credentials), which no retry here fixes.
 */
export function kafkaError(cause: unknown, what: string): EngagementError {
  if (cause instanceof EngagementError) return cause;
  const { retriable, type } = (cause ?? {}) as { retriable?: unknown; type?: unknown };
  const message = `${what}: ${cause instanceof Error ? cause.message : String(cause)}${typeof type === 'string' ? ` (${type})` : ''}`;
  return new EngagementError('kafka_unavailable', message, { cause, retriable: retriable === true, ...(typeof type === 'string' ? { details: { kafkaError: type } } : {}) });
}

/**
 * Refusals no retry fixes: credentials or ACLs (kafkajs's SASL and authorization errors), a
 * configuration we judged invalid, or work given up on purpose. Anything else — refused or
 * timed-out connections, a stalled broker, kafkajs giving up its own retries (which it marks
 * non-retriable) — is Kafka being down, retried as long as it takes.
 */
export function isRefusal(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof EngagementError) {
      if (current.code === 'config_invalid' || current.code === 'superseded') return true;
    } else if (current instanceof AggregateError) {
      return current.errors.some(isRefusal);
    }
    const { name, type, cause, originalError } = current as { name?: unknown; type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof name === 'string' && /SASL|Authentication/i.test(name)) return true;
    if (typeof type === 'string' && /AUTHORIZATION_FAILED|SASL_AUTHENTICATION_FAILED/.test(type)) return true;
    current = cause ?? originalError;
  }
  return false;
}
