import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { INSTALL_HINTS, requireExecutable } from '../dependencies.js';
import type { StackEndpoints } from '../endpoints.js';
import { KAFKA_JVM_OPTS, kafkaServerProperties, newClusterId } from '../kafka/properties.js';
import { logFile, pidFile, type StackPaths } from '../paths.js';
import { spawnDetached } from '../processes.js';
import type { StackReporter } from '../types.js';

export const KAFKA_MARKER = 'kafka.Kafka';

export function kafkaJarsPresent(paths: StackPaths): boolean {
  try {
    return readdirSync(paths.kafkaLibs).some((f) => f.startsWith('kafka_2.13-') && f.endsWith('.jar'));
  } catch {
    return false;
  }
}

/** `mvn dependency:copy-dependencies` into stack/kafka/target/libs, once. */
export async function ensureKafkaJars(paths: StackPaths, reporter: StackReporter): Promise<void> {
  if (kafkaJarsPresent(paths)) return;
  const mvn = requireExecutable('mvn', INSTALL_HINTS.mvn);
  reporter.step('kafka: fetching broker jars with Maven (once; reuses ~/.m2)…');
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(mvn, ['-q', '-B', '-f', paths.kafkaPom, 'dependency:copy-dependencies'], {
      cwd: paths.root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0 || !kafkaJarsPresent(paths)) {
    const text = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-20).join('\n');
    throw new EngagementError('stack_failed', `mvn could not fetch the Kafka jars (exit ${code}):\n${text}`);
  }
}

function classpath(paths: StackPaths): string {
  return path.join(paths.kafkaLibs, '*');
}

/** Writes server.properties and formats the KRaft storage the first time. */
export function prepareKafka(
  java: string,
  paths: StackPaths,
  endpoint: StackEndpoints['kafka'],
  config: Pick<Config, 'kafkaPartitions'>,
): void {
  mkdirSync(paths.kafkaData, { recursive: true });
  writeFileSync(
    paths.kafkaProperties,
    kafkaServerProperties({
      host: endpoint.host,
      port: endpoint.port,
      controllerPort: endpoint.controllerPort,
      dataDir: paths.kafkaData,
      partitions: config.kafkaPartitions,
    }),
  );
  if (existsSync(path.join(paths.kafkaData, 'meta.properties'))) return;
  const args = [
    '-cp', classpath(paths), `-Dlog4j.configuration=file:${paths.kafkaLog4j}`,
    'kafka.tools.StorageTool', 'format', `--cluster-id=${newClusterId(randomBytes)}`, '-c', paths.kafkaProperties, '--ignore-formatted',
  ];
  const result = spawnSync(java, args, { cwd: paths.root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new EngagementError('stack_failed', `Kafka storage format failed:\n${result.stderr}${result.stdout}`);
  }
}

export function spawnKafka(java: string, paths: StackPaths): number {
  return spawnDetached({
    command: java,
    args: [
      ...KAFKA_JVM_OPTS,
      `-Dlog4j.configuration=file:${paths.kafkaLog4j}`,
      `-Dkafka.logs.dir=${paths.logs}`,
      '-cp', classpath(paths),
      KAFKA_MARKER,
      paths.kafkaProperties,
    ],
    cwd: paths.root,
    logFile: logFile(paths, 'kafka'),
    pidFile: pidFile(paths, 'kafka'),
  });
}
