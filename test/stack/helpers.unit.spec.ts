import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../core/config.js';
import { parseJavaMajor } from '../../stack/dependencies.js';
import { blobEndpoint, kafkaEndpoint, redisEndpoint } from '../../stack/endpoints.js';
import { kafkaContainerEnv, kafkaServerProperties, newClusterId } from '../../stack/kafka/properties.js';
import { stillRunningMessage } from '../../stack/status.js';

describe('stack endpoints', () => {
  it('derives the local defaults from the default configuration', () => {
    expect(kafkaEndpoint([DEFAULTS.KAFKA_BROKERS])).toMatchObject({ host: '127.0.0.1', port: 9092, controllerPort: 9093, local: true });
    expect(redisEndpoint(DEFAULTS.REDIS_URL)).toMatchObject({ port: 6379, local: true });
    expect(blobEndpoint(DEFAULTS.AZURE_STORAGE_CONNECTION_STRING)).toMatchObject({ host: '127.0.0.1', port: 10000, local: true });
  });

  it('treats remote endpoints as external', () => {
    expect(kafkaEndpoint(['pkc-1.westeurope.azure.confluent.cloud:9092']).local).toBe(false);
    expect(redisEndpoint('rediss://cache.example.com:6380')).toMatchObject({ port: 6380, local: false });
    expect(blobEndpoint('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net')).toMatchObject({
      host: 'acct.blob.core.windows.net',
      local: false,
    });
    expect(blobEndpoint('UseDevelopmentStorage=true')).toMatchObject({ port: 10000, local: true });
  });
});

describe('kafka server properties', () => {
  const input = { host: '127.0.0.1', port: 9092, controllerPort: 9093, dataDir: '/d', partitions: 6 };

  it('configures a single-node KRaft broker with replication factor 1', () => {
    const props = kafkaServerProperties(input);
    expect(props).toContain('process.roles=broker,controller');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:9093');
    expect(props).toContain('num.partitions=6');
    expect(props).toContain('auto.create.topics.enable=false');
    expect(props).toContain('transaction.state.log.min.isr=1');
  });

  it('maps the same settings to apache/kafka container environment', () => {
    const env = kafkaContainerEnv({ ...input, listenHost: '0.0.0.0' });
    expect(env.KAFKA_LISTENERS).toBe('PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://127.0.0.1:9092');
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
  });

  it('makes 22-character cluster ids', () => {
    expect(newClusterId((n) => Buffer.alloc(n, 7))).toHaveLength(22);
  });

  it('never makes a cluster id the storage tool would read as an option', () => {
    // 0xf8 encodes as '-' in base64url: the id that broke a first `npm start`
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
    const id = newClusterId((n) => Buffer.alloc(n, 0xf8));
    expect(id).toHaveLength(22);
    expect(id.startsWith('-')).toBe(false);
    for (let first = 0; first < 256; first++) {
      expect(newClusterId((n) => Buffer.from([first, ...Buffer.alloc(n - 1)]))).toMatch(/^[A-Za-z0-9_]/);
    }
  });
});

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "21" 2023-09-19', 21],
    ['nonsense', undefined],
  ])('%s -> %s', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });
});

describe('what outlives engagement start', () => {
  it('names each stack process still running and the command that stops them', () => {
    const text = stillRunningMessage([
      { service: 'kafka', pid: 41 },
      { service: 'azurite', pid: 42 },
    ]);
    expect(text).toContain('kafka (pid 41), azurite (pid 42)');
    expect(text).toContain('npx engagement stack down');
  });

  it('says nothing when nothing of the stack runs', () => {
    expect(stillRunningMessage([])).toBe('');
  });
});
