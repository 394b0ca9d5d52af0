import { createKafka, kafkaError, SETTLE_RETRY } from '../core/kafka.js';
import { withRetry } from '../core/retry.js';
import { EngagementError } from '../core/errors.js';
import { alterTopicConfigs, configValues, describeTopicConfigs } from '../core/topic-configs.js';
import {
  contractConfigEntries,
  DEADLETTER_DAYS,
  EMAILS_EXTRA_DAYS,
  KEYS_SHRED_BOUND_HOURS,
  shortfallFix,
  formatShortfall,
  retentionContract,
  retentionShortfalls,
  type RetentionShortfall,
} from '../core/topic-retention.js';
import { topicsFor } from '../core/topics.js';
import { INSTALL_HINTS, requireExecutable, requireJava } from './dependencies.js';
import { stackEndpoints } from './endpoints.js';
import type { Probe } from './health.js';
import { logFile, SERVICES, stackPaths, type ServiceName, type StackPaths } from './paths.js';
import { pollUntil } from './poll.js';
import { isAlive, tail } from './processes.js';
import { spawnAzurite } from './services/azurite.js';
import { ensureKafkaJars, prepareKafka, spawnKafka } from './services/kafka.js';
import { spawnRedis } from './services/redis.js';
import { managedPid, probeService, serviceState, type StackConfig } from './status.js';
import { silentReporter, type StackOptions, type StackReporter, type StackUpResult } from './types.js';

export interface StackUpOptions extends StackOptions {
  /** How long to wait for each service to become healthy. */
  timeoutMs?: Partial<Record<ServiceName, number>>;
}

const TIMEOUTS: Record<ServiceName, number> = { kafka: 90_000, redis: 15_000, azurite: 30_000 };

/**
 * Brings up Kafka (KRaft), Redis and Azurite where they do not already answer, waits until each is
 * healthy, then creates the topics and the blob container. Idempotent.
 */
export async function stackUp(config: StackConfig, options: StackUpOptions = {}): Promise<StackUpResult> {
  const paths = options.paths ?? stackPaths();
  const reporter = options.reporter ?? silentReporter;
  const endpoints = stackEndpoints(config);

  const initial = await probeAll(config);
  const toStart = SERVICES.filter((s) => !initial[s].healthy && managedPid(paths, s) === undefined);
  for (const service of toStart) {
    if (!endpoints[service].local) {
      throw new EngagementError(
        'stack_failed',
        `${service} does not answer at ${endpoints[service].display} (${initial[service].detail}), and it is not a local address, so the stack cannot start it`,
      );
    }
  }

  // Check every dependency before starting anything.
  const java = toStart.includes('kafka') ? requireJava(17) : undefined;
  const redisServer = toStart.includes('redis') ? requireExecutable('redis-server', INSTALL_HINTS.redis) : undefined;
  if (java !== undefined) await ensureKafkaJars(paths, reporter);

  const pids = new Map<ServiceName, number>();
  if (java !== undefined) {
    prepareKafka(java, paths, endpoints.kafka, config);
    pids.set('kafka', spawnKafka(java, paths));
  }
  if (redisServer !== undefined) pids.set('redis', spawnRedis(redisServer, paths, endpoints.redis));
  if (toStart.includes('azurite')) pids.set('azurite', spawnAzurite(paths, endpoints.azurite));
  for (const [service, pid] of pids) reporter.step(`${service}: starting on ${endpoints[service].display} (pid ${pid}, log ${logFile(paths, service)})`);

  const probes = await Promise.all(
    SERVICES.map(async (service) =>
      initial[service].healthy && service !== 'azurite'
        ? initial[service]
        : waitHealthy(config, service, paths, options.timeoutMs?.[service] ?? TIMEOUTS[service], reporter),
    ),
  );
  const ensured = await ensureTopics(config);
  for (const line of retentionReport(ensured)) reporter.step(line);
  reporter.step(
    `kafka: topics ready: ${ensured.topics.join(', ')} (retention: control never trimmed, emails ${config.historyDays + EMAILS_EXTRA_DAYS} days, deadletter ${DEADLETTER_DAYS} days, keys compacted: a destroyed key is gone within ${KEYS_SHRED_BOUND_HOURS} h)`,
  );

  return {
    services: SERVICES.map((service, i) => serviceState(service, endpoints, probes[i] as Probe, managedPid(paths, service))),
    started: [...pids.keys()],
    topics: ensured.topics,
    container: config.blobContainer,
  };
}

async function probeAll(config: StackConfig): Promise<Record<ServiceName, Probe>> {
  const [kafka, redis, azurite] = await Promise.all(SERVICES.map((s) => probeService(config, s)));
  return { kafka: kafka as Probe, redis: redis as Probe, azurite: azurite as Probe };
}

/** Polls a service until healthy; fails fast (with the log tail) if the process we started dies. */
async function waitHealthy(
  config: StackConfig,
  service: ServiceName,
  paths: StackPaths,
  timeoutMs: number,
  reporter: StackReporter,
): Promise<Probe> {
  let last: Probe = { healthy: false, detail: 'not probed yet' };
  let died = false;
  const pid = managedPid(paths, service);
  const ok = await pollUntil(
    async () => {
      last = await probeService(config, service, { createContainer: true });
      if (!last.healthy && pid !== undefined && !isAlive(pid)) died = true;
      return last.healthy || died;
    },
    { timeoutMs, intervalMs: 500, onTick: (elapsed) => reporter.waiting?.(service, elapsed) },
  );
  if (died || !ok) {
    const why = died ? 'exited during start' : `not healthy after ${Math.round(timeoutMs / 1000)} s (${last.detail})`;
    throw new EngagementError('stack_failed', `${service} ${why}; last lines of ${logFile(paths, service)}:\n${tail(logFile(paths, service))}`);
  }
  return last;
}

export interface EnsuredTopics {
  topics: string[];
  /** retention settings raised to the contract on existing topics (only on a local cluster, which the stack owns) */
  raised: RetentionShortfall[];
  /** retention settings short of the contract and left alone (a cluster the stack does not own): `start` refuses them */
  shortfalls: RetentionShortfall[];
}

/**
 * Creates the topics of `topicsFor(config)` that do not exist yet (partitions = config.kafkaPartitions)
 * with the retention contract (core/topic-retention.ts), and raises the retention of existing
 * ones that keep less, when the cluster is the local stack's (`raiseRetention`, default: a
 * loopback KAFKA_BROKERS). On any other cluster it only reports the shortfalls.
 */
export async function ensureTopics(config: StackConfig, options: { raiseRetention?: boolean } = {}): Promise<EnsuredTopics> {
  const contract = retentionContract(topicsFor(config), config.historyDays);
  const names = contract.map((c) => c.topic);
  const raise = options.raiseRetention ?? stackEndpoints(config).kafka.local;
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    // A topic created a moment ago may be unknown yet to the broker's answers (waitForLeaders'
    // metadata, DescribeConfigs: UNKNOWN_TOPIC_OR_PARTITION; kafkajs waits out only
    // LEADER_NOT_AVAILABLE): the next attempt creates only what is still missing.
    const described = await withRetry(
      async () => {
        try {
          const existing = new Set(await admin.listTopics());
          const missing = contract.filter((c) => !existing.has(c.topic));
          if (missing.length > 0) {
            await admin.createTopics({
              topics: missing.map((c) => ({ topic: c.topic, numPartitions: config.kafkaPartitions, replicationFactor: 1, configEntries: contractConfigEntries(c) })),
              waitForLeaders: true,
            });
          }
          return await describeTopicConfigs(admin, names);
        } catch (error) {
          throw kafkaError(error, `creating or describing the topics ${names.join(', ')}`);
        }
      },
      { ...SETTLE_RETRY },
    );
    const shortfalls = retentionShortfalls(contract, configValues(described));
    if (!raise || shortfalls.length === 0) return { topics: names, raised: [], shortfalls };
    for (const topic of new Set(shortfalls.map((s) => s.topic))) {
      const changes = new Map<string, string>(shortfalls.filter((s) => s.topic === topic).map((s) => [s.setting, shortfallFix(s)]));
      // a topic turned compacted gets the settings that bound how long a destroyed key stays
      for (const [name, value] of Object.entries(contract.find((c) => c.topic === topic)?.compacted ?? {})) changes.set(name, value);
      await alterTopicConfigs(admin, topic, described.get(topic) ?? new Map(), changes);
    }
    return { topics: names, raised: shortfalls, shortfalls: [] };
  } finally {
    await admin.disconnect();
  }
}

/** One line per raised or short setting, for `stack up`'s output. */
export function retentionReport(ensured: EnsuredTopics): string[] {
  return [
    ...ensured.raised.map(
      (s) => `kafka: ${s.topic}: raised ${s.setting} from ${s.actual ?? '(unset)'} to ${shortfallFix(s)} (${s.reason}); the local stack owns its topics`,
    ),
    ...ensured.shortfalls.map(
      (s) => `kafka: WARNING ${formatShortfall(s)}; not changed on a cluster the stack does not own, and \`engagement start\` refuses to run until it is`,
    ),
  ];
}
