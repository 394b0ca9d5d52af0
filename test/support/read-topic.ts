import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { testGroupId, waitFor } from './env.js';

export interface TopicRecord {
  key: string;
  value: string;
  timestamp: string;
}

/** Reads `topic` from its beginning, as an outside consumer, until it has seen `count` records. */
export async function readTopic(config: Config, topic: string, count: number): Promise<TopicRecord[]> {
  const consumer = createKafka(config).consumer({ groupId: testGroupId(config, `read-${Date.now()}`), maxWaitTimeInMs: 100 });
  const seen: TopicRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', timestamp: message.timestamp });
      },
    });
    await waitFor(() => seen.length >= count, { timeoutMs: 20_000, message: `${count} records on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
