/**
 * The processors as a child process, for tests (kill -9, scale-out) and the bench (memory and
 * scaling scenarios): `node --import tsx service/processor-child.ts`, configured by environment
 * like `engagement start`. Prints "ready" once started; SIGTERM stops gracefully.
 * PROCESSOR_ROLES=projector,lander limits the roles. With PROCESSOR_STATS_MS set, it also prints
 * a JSON line of its counters at that interval so the parent can time it.
 */

import { loadConfig } from '../core/config.js';
import { startProcessors, type ProcessorRole } from '../processors/index.js';
import type { RoleStats } from '../processors/stats.js';

const roles = process.env.PROCESSOR_ROLES?.split(',').filter(Boolean) as ProcessorRole[] | undefined;
const handle = await startProcessors(loadConfig(process.env), roles ? { roles } : {});
process.stdout.write('ready\n');
const statsMs = Number(process.env.PROCESSOR_STATS_MS);
const timer =
  statsMs > 0
    ? setInterval(() => {
        const s = handle.stats();
        const line = {
          t: Date.now(),
          projector: (s.projector as RoleStats | undefined)?.records ?? 0,
          lander: (s.lander as RoleStats | undefined)?.records ?? 0,
          blobs: (s.lander as RoleStats | undefined)?.blobsUploaded ?? 0,
          collected: (s.projector as RoleStats | undefined)?.collected ?? 0,
          fenced: (s.projector as RoleStats | undefined)?.fenceConflicts ?? 0,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }, statsMs)
    : undefined;
process.on('SIGTERM', () => {
  clearInterval(timer);
  void handle.stop().then(() => process.exit(0));
});
