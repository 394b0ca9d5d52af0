/** server.properties of the single-node KRaft broker (combined broker + controller). Pure. */
export interface KafkaPropertiesInput {
  /** Address clients use (advertised listener). */
  host: string;
  /** Address the listeners bind to; defaults to `host` ("0.0.0.0" inside a container). */
  listenHost?: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  partitions: number;
  nodeId?: number;
}

export function kafkaServerEntries(input: KafkaPropertiesInput): Array<[string, string]> {
  const nodeId = input.nodeId ?? 1;
  const host = input.host === 'localhost' ? '127.0.0.1' : input.host;
  const listen = input.listenHost ?? host;
  const voter = listen === '0.0.0.0' ? '127.0.0.1' : listen;
  const entries: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', nodeId],
    ['controller.quorum.voters', `${nodeId}@${voter}:${input.controllerPort}`],
    ['listeners', `PLAINTEXT://${listen}:${input.port},CONTROLLER://${listen}:${input.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://${host}:${input.port}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'],
    ['log.dirs', input.dataDir],
    ['num.partitions', input.partitions],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    ['offsets.topic.replication.factor', 1],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['group.initial.rebalance.delay.ms', 0],
    ['auto.create.topics.enable', 'false'],
    ['delete.topic.enable', 'true'],
  ];
  return entries.map(([k, v]) => [k, String(v)]);
}

export function kafkaServerProperties(input: KafkaPropertiesInput): string {
  const lines = kafkaServerEntries(input).map(([k, v]) => `${k}=${v}`);
  return ['# Written by `engagement stack up`; regenerated on every start.', ...lines, ''].join('\n');
}

/** The same settings as apache/kafka image environment (`log.dirs` -> `KAFKA_LOG_DIRS`). */
export function kafkaContainerEnv(input: KafkaPropertiesInput): Record<string, string> {
  return Object.fromEntries(kafkaServerEntries(input).map(([k, v]) => [`KAFKA_${k.toUpperCase().replace(/\./g, '_')}`, v]));
}

/**
 * KRaft cluster ids are 16 random bytes, base64url without padding (22 characters). The storage
 * tool's argument parser reads an id starting with `-` as an option (one id in 64 did), so the
 * first byte's top bit is cleared: the first character is then one of A–Z, a–f, as in Kafka's own
 * `Uuid.randomUuid`, which never starts with `-` either.
 */
export function newClusterId(random: (size: number) => Buffer): string {
  const bytes = Buffer.from(random(16));
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('base64url');
}

export const KAFKA_JVM_OPTS = ['-Xmx512m', '-Xms256m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];
