/**
 * The API's Kafka clients (producer, control topic, keys topic) connected in the background, as
 * long as Kafka takes: the API listens at once, so tracking (spooled) and the KPI reads (Redis)
 * are served through a Kafka outage, also by an API restarted in the middle of one.
 */
import { EngagementError } from '../core/errors.js';
import { childLogger } from '../core/logger.js';
import { withRetry } from '../core/retry.js';
import { isRefusal } from '../core/kafka.js';

const log = childLogger('http');

/** Between attempts to reach Kafka while the API serves without it (its clients, and `engagement start`'s topic check). */
export const KAFKA_CONNECT_BACKOFF = { baseMs: 1_000, capMs: 15_000 } as const;

/** When a wait for Kafka is first said in the log (kafkajs's own retries make a first attempt last up to a minute). */
export const KAFKA_WAIT_NOTICE_MS = 3_000;
/**
 * How long a new API says "starting" (/readyz 503) while it reaches Kafka: a normal start takes a
 * second or two, and a load balancer should not send it the routes that need Kafka before. Past
 * it, Kafka counts as down and the API is ready for tracking (spooled) and the reads.
 */
export const STARTING_GRACE_MS = 10_000;

export interface KafkaConnection {
  /** every piece started and the control topic read to its end */
  ready(): boolean;
  /** neither reached nor given up on yet, within STARTING_GRACE_MS of the start */
  starting(): boolean;
  /** Kafka refused this API (credentials, ACLs): it is not retried, and the API is not ready */
  refused(): boolean;
  /** resolves once ready (rejects when the connection is stopped or given up) */
  reached(): Promise<void>;
  /** gives up a connection still being attempted (its current attempt is not waited for) */
  stop(): void;
}

/**
 * `start` is called again until it resolves (each piece's start can be repeated after a failure);
 * `brokers` names Kafka in the messages. A non-retriable failure (refused credentials) stops the
 * attempts and is logged.
 */
export function connectInBackground(start: () => Promise<void>, brokers: readonly string[], now: () => number = Date.now): KafkaConnection {
  let ready = false;
  let stopped = false;
  let failed = false;
  const began = now();
  let wake: (() => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  // kafkajs's own retries make a first attempt against a stalled broker last a minute: say so early
  const notice = setTimeout(() => {
    if (!ready && !stopped) log.warn({ brokers }, 'Kafka not reached yet: tracking is spooled, the routes that write to Kafka answer 503 until it is');
  }, KAFKA_WAIT_NOTICE_MS);
  notice.unref();
  const attempts = withRetry(
    async () => {
      try {
        await start();
      } catch (error) {
        throw unreachable(brokers, error);
      }
    },
    {
      wanted: () => !stopped,
      backoff: KAFKA_CONNECT_BACKOFF,
      sleep,
      onRetry: (error, attempt, retryInMs) => stopped || log.warn({ err: error, attempt, retryInMs }, 'Kafka not reachable: tracking is spooled, the routes that write to Kafka answer 503 meanwhile'),
    },
  ).then(
    () => {
      clearTimeout(notice);
      ready = !stopped;
      if (ready) log.info({ brokers }, 'Kafka reached: control and keys topics read');
    },
    (error: unknown) => {
      failed = true;
      clearTimeout(notice);
      if (!stopped) log.error({ err: error }, 'Kafka connection given up: restart the API once the cause is fixed');
    },
  );
  return {
    ready: () => ready,
    starting: () => !ready && !failed && now() - began < STARTING_GRACE_MS,
    refused: () => failed && !stopped,
    reached: () =>
      attempts.then(() => {
        if (failed && !stopped) throw new EngagementError('kafka_unavailable', `Kafka at ${brokers.join(',')} refused this API (see the log)`);
        if (!ready) throw new EngagementError('superseded', 'the API stopped before it reached Kafka');
      }),
    stop() {
      stopped = true;
      clearTimeout(notice);
      wake?.();
    },
  };
}

function unreachable(brokers: readonly string[], cause: unknown): EngagementError {
  if (isRefusal(cause)) {
    return cause instanceof EngagementError ? cause : new EngagementError('config_invalid', `Kafka at ${brokers.join(',')} refused this API`, { cause, retriable: false });
  }
  // the cause's message follows in the logs (pino appends it)
  return new EngagementError('kafka_unavailable', `cannot reach Kafka at ${brokers.join(',')}`, { cause, retriable: true });
}
