import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { EventProducer } from '../../producers/event-producer.js';
import { checkFile } from '../../producers/ndjson/produce-file.js';
import { fixture, plain } from '../support/fixtures.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { startTopicReader } from './support/api-harness.js';

const run = promisify(execFile);
let config: Config;
let dir: string;

beforeAll(async () => {
  config = testConfig();
  await createTestTopics(config);
  dir = await mkdtemp(join(tmpdir(), 'produce-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (config) await cleanupTestResources(config);
});

async function endOffsets(): Promise<number> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    let sum = 0;
    for (const topic of Object.values(topicsFor(config))) sum += (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
    return sum;
  } finally {
    await admin.disconnect();
  }
}

async function produce(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    REDIS_URL: config.redisUrl,
    TOPIC_PREFIX: config.topicPrefix,
    LOG_LEVEL: 'error',
  };
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/engagement.js', 'produce', file], { env, cwd: process.cwd() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const line = (value: unknown) => JSON.stringify(value);

describe('engagement produce FILE.ndjson', () => {
  it('reports every bad line as FILE:LINE and writes nothing', async () => {
    const file = join(dir, 'bad.ndjson');
    await writeFile(
      file,
      [line(plain(fixture('OrgEngagementEnabled'))), line(plain(fixture('EmailSent'))), '{"type": "EmailOpened", oops', '', line({ ...plain(fixture('EmailReplied')), contactId: 7 })].join('\n'),
    );
    const before = await endOffsets();
    const result = await produce(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:3: invalid JSON`);
    expect(result.stderr).toContain(`${file}:5: contactId`);
    expect(result.stderr).not.toContain(`${file}:1:`);
    expect(result.stdout).toBe('');
    expect(await endOffsets()).toBe(before);
  });

  it('refuses the events only the pipeline writes (a purge, a resolution), with their line, and writes nothing', async () => {
    const file = join(dir, 'reserved.ndjson');
    await writeFile(
      file,
      [
        line(plain(fixture('OrgEngagementEnabled', { orgId: 'org-r' }))),
        line({ type: 'OrgPurged', orgId: 'org-r' }),
        line({ type: 'ControlRecordResolved', orgId: 'org-r', partition: 0, offset: 16 }),
      ].join('\n'),
    );
    const before = await endOffsets();
    const result = await produce(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:2: type: OrgPurged is written by \`engagement retention run\`, not through \`engagement produce\``);
    expect(result.stderr).toContain(`${file}:3: type: ControlRecordResolved is written by POST /v1/orgs/:orgId/control/resolve`);
    expect(result.stderr).not.toContain(`${file}:1:`);
    expect(await endOffsets()).toBe(before);
  });

  it('writes every event of a good file, skipping blank lines, and says where', async () => {
    const emailId = `e-${randomUUID()}`;
    const events = [
      plain(fixture('OrgEngagementEnabled', { orgId: 'org-p' })),
      plain(fixture('ContactFollowPreferenceChanged', { orgId: 'org-p' })),
      plain(fixture('EmailSent', { orgId: 'org-p', emailId })),
      plain(fixture('EmailOpened', { orgId: 'org-p', emailId })),
      plain(fixture('EmailReplied', { orgId: 'org-p', emailId })),
    ];
    const file = join(dir, 'good.ndjson');
    await writeFile(file, `${events.map(line).join('\n\n')}\n\n`);
    const reader = await startTopicReader(config, [topicsFor(config).control, topicsFor(config).emails]);
    try {
      const result = await produce(file);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(`wrote 5 events (2 control, 3 email) to ${topicsFor(config).control}, ${topicsFor(config).emails}`);
      const received = await waitFor(() => reader.messages.length >= 5 && reader.messages);
      expect(received.map((m) => m.event.eventId).sort()).toEqual(events.map((e) => e.eventId as string).sort());
      expect(received.filter((m) => m.topic === topicsFor(config).emails).every((m) => m.key === `org-p/${emailId}`)).toBe(true);
    } finally {
      await reader.stop();
    }
  });

  it('checks a large file in one streaming pass, listing all problems', async () => {
    const file = join(dir, 'large.ndjson');
    const good = line(plain(fixture('EmailReplied')));
    const lines = Array.from({ length: 50_000 }, (_, i) => (i === 20_000 || i === 40_000 ? '{' : good));
    await writeFile(file, lines.join('\n'));
    const check = await checkFile(file);
    expect(check.events).toBe(49_998);
    expect(check.problems.map((p) => p.split(':').slice(-3, -2)[0])).toEqual(['20001', '40001']);
  });

  it('missing file is a clear error', async () => {
    const result = await produce(join(dir, 'missing.ndjson'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing.ndjson: cannot read the file');
  });
});

describe('EventProducer.flush', () => {
  it('sends what is queued without waiting for the linger timer', async () => {
    const producer = new EventProducer(createKafka(config), topicsFor(config), { lingerMs: 60_000 });
    await producer.connect();
    try {
      const before = await endOffsets();
      const sends = [1, 2, 3].map(() => producer.send(fixture('EmailReplied', { eventId: randomUUID() })));
      await producer.flush();
      await Promise.all(sends);
      expect(await endOffsets()).toBe(before + 3);
    } finally {
      await producer.disconnect();
    }
  });
});
