import { loadConfig } from '../core/config.js';
import { startProcessors, type ProcessorRole } from '../processors/index.js';
import type { RoleStats } from '../processors/stats.js';

/**
 * One processor instance as a child process of the bench (memory and scaling scenarios):
 * configured by environment like `engagement start`, it prints "ready", then a JSON line of
 * its counters every BENCH_STATS_MS (default 50) so the parent can time it; SIGTERM stops it.
 */
const roles = process.env.PROCESSOR_ROLES?.split(',').filter(Boolean) as ProcessorRole[] | undefined;
const handle = await startProcessors(loadConfig(process.env), roles ? { roles } : {});
process.stdout.write('ready\n');
const timer = setInterval(() => {
  const s = handle.stats();
  const line = {
    t: Date.now(),
    projector: (s.projector as RoleStats | undefined)?.records ?? 0,
    lander: (s.lander as RoleStats | undefined)?.records ?? 0,
    collected: (s.projector as RoleStats | undefined)?.collected ?? 0,
    fenced: (s.projector as RoleStats | undefined)?.fenceConflicts ?? 0,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, Number(process.env.BENCH_STATS_MS ?? 50));
process.on('SIGTERM', () => {
  clearInterval(timer);
  void handle.stop().then(() => process.exit(0));
});
