/**
 * A private single-node Kafka broker for tests that stop, stall or restart the broker (the shared
 * one on 9092 must stay up): the stack's own properties and launcher, with its own data dir and
 * free ports. `pause`/`resume` are SIGSTOP/SIGCONT: a stalled broker that answers nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createKafka } from '../../core/kafka.js';
import { stablePort } from './ports.js';
import { requireJava } from '../../stack/dependencies.js';
import { prepareKafka, spawnKafka } from '../../stack/services/kafka.js';
import { REPO_ROOT, stackPaths } from '../../stack/paths.js';
import type { Config } from '../../core/config.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from './env.js';

export interface PrivateKafka {
  brokers: string;
  pid: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function startPrivateKafka(): Promise<PrivateKafka> {
  const dir = mkdtempSync(path.join(tmpdir(), 'private-kafka-'));
  const java = requireJava(17);
  const port = await stablePort();
  const controllerPort = await stablePort();
  const paths = stackPaths(REPO_ROOT, dir);
  prepareKafka(java, paths, { host: '127.0.0.1', port, controllerPort, local: true, display: `127.0.0.1:${port}` }, { kafkaPartitions: 3 });
  const pid = spawnKafka(java, paths);
  const brokers = `127.0.0.1:${port}`;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  await waitFor(
    async () => {
      const admin = createKafka({ kafkaBrokers: [brokers], kafkaClientId: 'private-kafka-probe' }, { retry: { retries: 0 }, logCreator: () => () => undefined }).admin();
      await admin.connect();
      await admin.disconnect();
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 500, message: `private Kafka on ${brokers}` },
  );
  return {
    brokers,
    pid,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async stop() {
      signal('SIGCONT');
      signal('SIGKILL');
      await waitFor(
        () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 20_000, message: 'private Kafka gone' },
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateKafkaEnv {
  kafka: PrivateKafka;
  /** a test config on the private broker, with its topics (3 partitions), an API port and a spool directory of its own */
  config: Config;
  /** resumes the broker, deletes the test's resources, stops the broker and removes the spool */
  stop(): Promise<void>;
}

/** What a test of `engagement start` against a broker it stops or stalls needs (`overrides`: more settings). */
export async function privateKafkaEnv(name: string, overrides: Record<string, string> = {}): Promise<PrivateKafkaEnv> {
  const kafka = await startPrivateKafka();
  const spoolDir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  const port = await stablePort();
  const config = testConfig({ KAFKA_BROKERS: kafka.brokers, PORT: String(port), HOST: '127.0.0.1', SPOOL_DIR: spoolDir, ...overrides });
  await createTestTopics(config, 3);
  return {
    kafka,
    config,
    async stop() {
      kafka.resume();
      await cleanupTestResources(config).catch(() => undefined);
      await kafka.stop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
