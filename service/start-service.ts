import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import { settleWithin, withRetry } from '../core/retry.js';
import { startServer, type RunningServer } from '../api/server.js';
import { KAFKA_CONNECT_BACKOFF, KAFKA_WAIT_NOTICE_MS } from '../api/kafka-connection.js';
import { startProcessors, type ProcessorRole, type ProcessorsHandle } from '../processors/index.js';
import { checkTopics } from './check-topics.js';
import { startRetentionTask } from './retention-task.js';
import type { Role } from './roles.js';

const log = childLogger('service');


/** The topic check, retried while Kafka is unreachable (a missing topic or short retention still fails at once). */
async function checkTopicsPatiently(config: Config, roles: readonly Role[]): Promise<void> {
  const others = roles.filter((r) => r !== 'api');
  const notice = setTimeout(() => log.warn({ brokers: config.kafkaBrokers, waiting: others }, 'waiting for Kafka: the API serves meanwhile (tracking spooled), the other roles start once Kafka answers'), KAFKA_WAIT_NOTICE_MS);
  try {
    await withRetry(() => checkTopics(config), { backoff: KAFKA_CONNECT_BACKOFF, onRetry: (err) => log.warn({ err }, 'Kafka still not reachable') });
  } finally {
    clearTimeout(notice);
  }
}

export interface RunningService {
  roles: readonly Role[];
  server: RunningServer | undefined;
  processors: ProcessorsHandle | undefined;
  /** `clean` false: a part failed to stop (logged), or it gave up after STOP_TIMEOUT_SECONDS, leaving clients that still wait on Kafka (the caller exits) */
  stop(): Promise<{ clean: boolean }>;
}

/**
 * `engagement start`: the API, the processors and the retention task in one process, or the
 * subset named by `roles`. Stopping is graceful and bounded: the API stops taking requests and
 * drains its spool while the processors finish and commit their current batch, for at most
 * STOP_TIMEOUT_SECONDS.
 */
export async function startService(config: Config, roles: readonly Role[]): Promise<RunningService> {
  // The API first, listening at once: it serves tracking (spooled) and the KPI reads through a
  // Kafka outage, so with it the other roles wait for Kafka instead of failing the start.
  const server = roles.includes('api') ? await startServer(config) : undefined;
  let processors: ProcessorsHandle | undefined;
  let retention: Awaited<ReturnType<typeof startRetentionTask>> | undefined;
  try {
    await (server ? checkTopicsPatiently(config, roles) : checkTopics(config));
    const processorRoles = roles.filter((r): r is ProcessorRole => r === 'projector' || r === 'lander' || r === 'control');
    processors = processorRoles.length > 0 ? await startProcessors(config, { roles: processorRoles }) : undefined;
    retention = roles.includes('retention') ? await startRetentionTask(config) : undefined;
  } catch (error) {
    await processors?.stop().catch(() => undefined);
    await server?.close().catch(() => undefined);
    throw error;
  }
  log.info({ roles, url: server?.url }, 'engagement service started');
  let stopping: Promise<{ clean: boolean }> | undefined;
  return {
    roles,
    server,
    processors,
    stop() {
      stopping ??= (async () => {
        // Side by side: none waits for another (the processors commit their batch while the API
        // drains its spool), so one slow part (a retention pass waiting for the landers) does not
        // use up the others' time.
        const parts = [
          ['api', server?.close()],
          ['retention', retention?.stop()],
          ['processors', processors?.stop()],
        ] as const;
        // every part to its end, each failure said by name: one failing does not cut the others short
        const stopped = Promise.allSettled(parts.map(([, done]) => done)).then((results) => {
          let failed = false;
          results.forEach((result, i) => {
            if (result.status === 'rejected') {
              failed = true;
              log.error({ err: result.reason, part: parts[i]![0] }, 'stopping failed');
            }
          });
          return !failed;
        });
        // A stalled broker answers nothing, and the Kafka clients' leave-group and commit would wait
        // on it for minutes. Leaving them is safe: a batch not committed is read again at the next
        // start (exactly-once is in Redis), and the spool is on disk.
        const seconds = config.stopTimeoutSeconds;
        const outcome = await settleWithin(stopped, seconds * 1000, 'timeout' as const);
        if (outcome === 'timeout') {
          log.error({ seconds }, `the service did not stop within STOP_TIMEOUT_SECONDS (${seconds} s: Kafka not answering, or a retention pass waiting for the landers?); leaving what is still waiting, to be read again or resumed at the next start`);
          return { clean: false };
        }
        if (!outcome) return { clean: false };
        log.info('engagement service stopped');
        return { clean: true };
      })();
      return stopping;
    },
  };
}
