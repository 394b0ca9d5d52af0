/** server.properties of the single-node KRaft broker (combined broker + controller). Pure. */
export interface KafkaPropertiesInput {
  host: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  partitions: number;
  nodeId?: number;
}

export function kafkaServerProperties(input: KafkaPropertiesInput): string {
  const nodeId = input.nodeId ?? 1;
  const host = input.host === 'localhost' ? '127.0.0.1' : input.host;
  const entries: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', nodeId],
    ['controller.quorum.voters', `${nodeId}@${host}:${input.controllerPort}`],
    ['listeners', `PLAINTEXT://${host}:${input.port},CONTROLLER://${host}:${input.controllerPort}`],
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
  return ['# Written by `engagement stack up`; regenerated on every start.', ...entries.map(([k, v]) => `${k}=${v}`), ''].join('\n');
}

/** KRaft cluster ids are 16 random bytes, base64url without padding (22 characters). */
export function newClusterId(random: (size: number) => Buffer): string {
  return random(16).toString('base64url');
}

export const KAFKA_JVM_OPTS = ['-Xmx512m', '-Xms256m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true'];
