// A worker thread that installs core/kafkajs-fast-produce.ts before kafkajs loads, then sends
// workerData.messages to workerData.topic with the idempotent producer, as the spool's sender
// thread does (test/core/kafkajs-fast-produce.int.spec.ts).
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { installFastProduce, groupMessagesPerPartition, fastProduceCounts } = await import('../../core/kafkajs-fast-produce.ts');
installFastProduce();
const { createKafka } = await import('../../core/kafka.ts');
const { ORDERED_PRODUCER } = await import('../../core/kafka-partitioner.ts');
const require = createRequire(import.meta.url);
const { config, topic, batches } = workerData;
const producer = createKafka(config).producer(ORDERED_PRODUCER);
await producer.connect();
for (const messages of batches) await producer.send({ topic, acks: -1, messages });
await producer.disconnect();
const grouping = require('kafkajs/src/producer/groupMessagesPerPartition.js') === groupMessagesPerPartition;
parentPort.postMessage({ grouping, counts: { ...fastProduceCounts } });
