import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { DAY_MS } from '../../core/topic-retention.js';
import { topicsFor } from '../../core/topics.js';
import { checkTopics } from '../../service/check-topics.js';
import { childEnv } from '../processors/support/child.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';

/**
 * `engagement start` and `engagement replay` against topics that keep less than the retention
 * contract: they refuse to run, naming the topic, its setting and the required one. `--no-stack`:
 * with the stack, `start` would first raise the local topics' retention (stack up owns them).
 */
describe('start and replay refuse a retention shorter than the contract', () => {
  let short: Config;
  let good: Config;
  const cli = (config: Config, ...args: string[]) =>
    spawnSync(process.execPath, ['bin/engagement.js', ...args], { env: childEnv(config), encoding: 'utf8', timeout: 60_000, input: '' });

  beforeAll(async () => {
    short = testConfig();
    good = testConfig();
    await createTestTopics(short, 1, { emails: { 'retention.ms': String(7 * DAY_MS) } });
    await createTestTopics(good, 1);
  });
  afterAll(async () => {
    for (const config of [short, good]) if (config) await cleanupTestResources(config);
  });

  it('`engagement start` exits non-zero naming the emails topic, retention.ms=604800000 and the required value', () => {
    const run = cli(short, 'start', '--no-stack', '--roles', 'projector');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('[config_invalid]');
    expect(run.stderr).toContain(
      `${topicsFor(short).emails}: retention.ms=604800000 (7 days), required retention.ms >= ${407 * DAY_MS} (407 days: HISTORY_DAYS 400 + 7 days) or -1`,
    );
    expect(run.stderr).not.toContain(topicsFor(short).control);
  });

  it('`engagement replay` refuses the same topics', () => {
    const run = cli(short, 'replay', '--dry-run');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${topicsFor(short).emails}: retention.ms=604800000`);
  });

  it('says how to fix it: raise the retention, or lower HISTORY_DAYS under what the emails topic keeps', async () => {
    const error = await checkTopics(short).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'config_invalid', retriable: false });
    expect((error as Error).message).toMatch(/Raise the retention .* or lower HISTORY_DAYS \(now 400\)/);
  });

  it('passes on topics created with the contract', async () => {
    await expect(checkTopics(good)).resolves.toBeUndefined();
  });
});
