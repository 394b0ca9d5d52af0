import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import { startServer, type RunningServer } from '../api/server.js';
import { startProcessors, type ProcessorRole, type ProcessorsHandle } from '../processors/index.js';
import { checkTopics } from './check-topics.js';
import { startRetentionTask } from './retention-task.js';
import type { Role } from './roles.js';

const log = childLogger('service');

export interface RunningService {
  roles: readonly Role[];
  server: RunningServer | undefined;
  processors: ProcessorsHandle | undefined;
  stop(): Promise<void>;
}

/**
 * `engagement start`: the API, the processors and the retention task in one process, or the
 * subset named by `roles`. Stopping is graceful: the API stops taking requests first, the
 * processors finish and commit their current batch.
 */
export async function startService(config: Config, roles: readonly Role[]): Promise<RunningService> {
  await checkTopics(config);
  const processorRoles = roles.filter((r): r is ProcessorRole => r === 'projector' || r === 'lander' || r === 'control');
  const processors = processorRoles.length > 0 ? await startProcessors(config, { roles: processorRoles }) : undefined;
  const server = roles.includes('api') ? await startServer(config) : undefined;
  const retention = roles.includes('retention') ? await startRetentionTask(config) : undefined;
  log.info({ roles, url: server?.url }, 'engagement service started');
  let stopping: Promise<void> | undefined;
  return {
    roles,
    server,
    processors,
    stop() {
      stopping ??= (async () => {
        await server?.close();
        await retention?.stop();
        await processors?.stop();
        log.info('engagement service stopped');
      })();
      return stopping;
    },
  };
}
