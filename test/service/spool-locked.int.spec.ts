/**
 * A second `engagement start` on a spool directory another process holds is refused, and exits:
 * before, it printed the refusal and stayed alive on the Redis and Kafka clients it had opened
 * first, so a supervisor took it for a running instance (black-box check).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/net.js';
import { childEnv } from '../processors/support/child.js';
import { testConfig } from '../support/env.js';

const dir = mkdtempSync(join(tmpdir(), 'spool-locked-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('engagement start on a spool directory in use', () => {
  it('says whose it is and exits 1 promptly', { timeout: 60_000 }, async () => {
    // held by this (live) test process
    writeFileSync(join(dir, 'LOCK'), `${process.pid}\n`);
    const config = testConfig();
    const env = { ...childEnv(config), SPOOL_DIR: dir, PORT: String(await freePort()) };
    const child = spawn(process.execPath, ['bin/engagement.js', 'start', '--no-stack', '--roles', 'api'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const began = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(stderr).toContain(`is in use by process ${process.pid}`);
    expect(code, `still running after ${Math.round(performance.now() - began)} ms`).toBe(1);
  });
});
