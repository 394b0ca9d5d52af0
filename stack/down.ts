import { rmSync } from 'node:fs';
import { pidFile, SERVICES, stackPaths, type ServiceName } from './paths.js';
import { removeFile, stopProcess } from './processes.js';
import { managedPid } from './status.js';
import { silentReporter, type StackDownResult, type StackOptions } from './types.js';

export interface StackDownOptions extends StackOptions {
  /** Also delete `.stack/` (Kafka log dirs, Azurite data, logs). */
  purge?: boolean;
  /** Stop only these (default: all three). Services the stack did not start are never touched. */
  services?: readonly ServiceName[];
  /** Grace period after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
}

/** Stops what `stackUp` started (by pid file), Kafka last so clients see a clean shutdown. */
export async function stackDown(options: StackDownOptions = {}): Promise<StackDownResult> {
  const paths = options.paths ?? stackPaths();
  const reporter = options.reporter ?? silentReporter;
  const wanted = options.services ?? SERVICES;
  const order: ServiceName[] = ['azurite', 'redis', 'kafka'];
  const stopped: StackDownResult['stopped'] = [];
  for (const service of order.filter((s) => wanted.includes(s))) {
    const pid = managedPid(paths, service);
    if (pid === undefined) {
      removeFile(pidFile(paths, service));
      reporter.step(`${service}: not started by the stack, left alone`);
      stopped.push({ service, outcome: 'not-managed' });
      continue;
    }
    reporter.step(`${service}: stopping (pid ${pid})…`);
    const outcome = await stopProcess(pid, options.stopTimeoutMs ?? (service === 'kafka' ? 30_000 : 10_000));
    removeFile(pidFile(paths, service));
    reporter.step(`${service}: ${outcome}`);
    stopped.push({ service, pid, outcome });
  }
  let purged = false;
  if (options.purge === true) {
    const stillRunning = SERVICES.filter((s) => managedPid(paths, s) !== undefined);
    if (stillRunning.length === 0) {
      rmSync(paths.dir, { recursive: true, force: true });
      purged = true;
      reporter.step(`removed ${paths.dir}`);
    } else {
      reporter.step(`kept ${paths.dir}: still running: ${stillRunning.join(', ')}`);
    }
  }
  return { stopped, purged };
}
