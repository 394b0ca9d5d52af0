import { loadConfig } from '../../core/config.js';
import { startProcessors, type ProcessorRole } from '../../processors/index.js';

/**
 * Runs the processors as a separate process, configured by environment, so tests can kill -9
 * them: `node --import tsx test/support/processor-child.ts`. Prints "ready" once started;
 * SIGTERM stops gracefully. PROCESSOR_ROLES=projector,lander limits the roles.
 */
const roles = process.env.PROCESSOR_ROLES?.split(',').filter(Boolean) as ProcessorRole[] | undefined;
const handle = await startProcessors(loadConfig(process.env), roles ? { roles } : {});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void handle.stop().then(() => process.exit(0));
});
