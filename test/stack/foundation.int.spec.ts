import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { emailKey, topicsFor } from '../../core/topics.js';
import { decodeEvent, encodeEvent } from '../../schemas/codec.js';
import type { AnyEvent, EmailOpened } from '../../schemas/events.js';
import { cleanupTestResources, createTestTopics, testConfig, testGroupId, waitFor } from '../support/env.js';

/** Proves the client libraries work with the real services this repo runs against. */
describe('foundation: kafkajs, Azurite and Redis against the real stack', () => {
  const config = testConfig();
  const topics = topicsFor(config);

  beforeAll(async () => {
    await createTestTopics(config);
  });
  afterAll(async () => {
    await cleanupTestResources(config);
  });

  describe('kafkajs 2.2.4 with the Kafka 3.9 KRaft broker', () => {
    let producer: Producer;
    let consumer: Consumer;
    afterAll(async () => {
      await consumer?.disconnect();
      await producer?.disconnect();
    });

    it('produces an Avro event and consumes it back through a consumer group', async () => {
      const kafka = createKafka(config);
      const event: EmailOpened = {
        type: 'EmailOpened',
        eventId: randomUUID(),
        orgId: 'org-1',
        occurredAt: Date.UTC(2025, 0, 2, 3, 4, 5),
        emailId: 'email-1',
        contactId: 'contact-1',
        recipientType: null,
        userAgent: 'Mozilla/5.0',
        ipHash: null,
        method: 'GET',
        machineReason: null,
        encryption: null,
      };
      const received: Array<{ key: string | undefined; event: AnyEvent; partition: number }> = [];

      consumer = kafka.consumer({ groupId: testGroupId(config, 'foundation') });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.emails, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          if (message.value === null) return;
          received.push({ key: message.key?.toString(), event: decodeEvent(message.value), partition });
        },
      });

      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
      await producer.connect();
      const [meta] = await producer.send({
        topic: topics.emails,
        messages: [{ key: emailKey(event.orgId, event.emailId), value: encodeEvent(event) }],
      });

      const got = await waitFor(() => received[0], { timeoutMs: 30_000, message: 'the produced event to be consumed' });
      expect(got.key).toBe('org-1/email-1');
      expect(got.partition).toBe(meta?.partition);
      expect(got.event).toEqual(event);

      // The group committed its offset: the broker reports the consumed position.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitFor(
          async () => {
            const [offsets] = await admin.fetchOffsets({ groupId: testGroupId(config, 'foundation'), topics: [topics.emails] });
            return offsets?.partitions.some((p) => p.offset === '1');
          },
          { message: 'the consumer group to commit offset 1' },
        );
      } finally {
        await admin.disconnect();
      }
    });
  });

  describe('Azurite blob storage', () => {
    it('writes a blob and reads it back', async () => {
      const container = createContainerClient(config);
      await container.createIfNotExists();
      const body = '{"hello":"blob"}\n';
      const blob = container.getBlockBlobClient('foundation/hello.ndjson');
      await blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });

      const downloaded = await blob.downloadToBuffer();
      expect(downloaded.toString('utf8')).toBe(body);
      const listed: string[] = [];
      for await (const item of container.listBlobsFlat({ prefix: 'foundation/' })) listed.push(item.name);
      expect(listed).toEqual(['foundation/hello.ndjson']);
    });
  });

  describe('Redis', () => {
    let redis: Redis;
    afterAll(() => redis?.disconnect());

    it('writes and reads keys under the test prefix', async () => {
      redis = createRedis(config);
      const key = `${config.redisPrefix}:foundation`;
      await redis.hset(key, { opens: 2, clicks: 1 });
      await redis.hincrby(key, 'opens', 1);
      expect(await redis.hgetall(key)).toEqual({ opens: '3', clicks: '1' });
    });
  });
});
