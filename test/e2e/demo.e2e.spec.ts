/**
 * The README's path for a newcomer, as a user runs it: `engagement start` in one process,
 * `engagement demo` in another, against the real stack.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { freePort } from '../../core/net.js';
import { childEnv } from '../processors/support/child.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';

/** its own spool directory (the default one, under .stack/spool, would outlive the test) */
const spoolDir = mkdtempSync(path.join(tmpdir(), 'demo-e2e-spool-'));

function envOf(config: Config, port: number): NodeJS.ProcessEnv {
  return { ...childEnv(config), PORT: String(port), LOG_LEVEL: 'warn', SPOOL_DIR: spoolDir };
}

describe('engagement start + engagement demo', () => {
  let config: Config;
  let port: number;
  let service: ChildProcess | undefined;

  beforeAll(async () => {
    config = testConfig();
    port = await freePort();
    await createTestTopics(config);
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service!.once('exit', resolve));
      service.kill('SIGKILL');
      await exited;
    }
    if (config) await cleanupTestResources(config);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('refuses to start without its topics, naming them', () => {
    const run = spawnSync('node', ['bin/engagement.js', 'start', '--no-stack'], {
      env: { ...envOf(config, port), TOPIC_PREFIX: `${config.topicPrefix}-missing` },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${config.topicPrefix}-missing.control`);
    expect(run.stderr).toContain('[config_invalid]');
  });

  it('the demo runs through the service and prints the KPI tables', { timeout: 180_000 }, async () => {
    service = spawn('node', ['bin/engagement.js', 'start', '--no-stack'], { env: envOf(config, port), stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    service.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `service ready (log: ${log.slice(-500)})`,
    });

    const demo = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('node', ['bin/engagement.js', 'demo', '--json'], { env: envOf(config, port) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(demo.code, demo.stderr).toBe(0);
    const result = JSON.parse(demo.stdout) as {
      email: Record<string, number>;
      contact: { bestTimeToEmail: unknown[] | null; emailsReceived: number };
      org: { daily: unknown[]; emails: number; machineOpens: number; machineClicks: number };
    };
    expect(result.email).toMatchObject({ replies: 1, machineOpens: 1, machineClicks: 1, recipients: 12, followedRecipients: 11 });
    expect(result.email.opens).toBeGreaterThan(0);
    expect(result.contact.bestTimeToEmail).not.toBeNull();
    expect(result.org.emails).toBe(15);
    expect(result.org.daily.length).toBe(30);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/engagement_tracking_requests_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/engagement_processor_events_total\{role="projector"\} [1-9]/);

    const stopped = new Promise<number | null>((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    expect(await stopped).toBe(0);
    expect(log).not.toMatch(/"level":50/);
  });
});
