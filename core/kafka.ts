import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Config } from './config.js';
import { childLogger } from './logger.js';

const log = childLogger('kafkajs');

// Every producer here names its partitioner; the v2 migration notice is noise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
/** Warnings kafkajs prints on every start that say nothing about this deployment. */
const KNOWN_NOISE = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];
/** Protocol errors kafkajs logs as errors although a rebalance or a broker start makes them routine. */
const ROUTINE_ERRORS = /rebalancing|coordinator is not available|not the correct coordinator|coordinator is loading/i;

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
