/** A private Azurite for tests that stop and restart blob storage (the shared one must stay up). */

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from './env.js';

/**
 * Resolves once the private Azurite listens; rejects at once, with what it said, if it exits
 * first. The bound is generous: on a loaded two-core box a Node process can take many seconds to start.
 */
export function startAzurite(port: number, location: string): Promise<ChildProcess> {
  const child = spawn(
    'node_modules/.bin/azurite-blob',
    ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let said = '';
  child.stderr!.on('data', (chunk: Buffer) => (said = (said + chunk.toString()).slice(-2_000)));
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`azurite exited (${code ?? signal}) before listening: ${said}`)));
  });
  const listening = waitFor(
    () =>
      new Promise<ChildProcess | false>((resolve) => {
        const probe = createServer();
        probe.once('error', () => resolve(child)); // port taken: Azurite is listening
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
      }),
    { timeoutMs: 60_000, message: 'azurite listening' },
  );
  return Promise.race([listening, exited]);
}

/** SIGTERM: Azurite persists its metadata on a clean exit, like a storage service that was down. */
export function stopAzurite(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
