import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { childLogger } from '../../core/logger.js';
import { parseRoles, ROLES } from '../../service/roles.js';
import { startService } from '../../service/start-service.js';
import { runningManaged, stackUp, stillRunningMessage } from '../../stack/index.js';

const log = childLogger('cli');

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the service: HTTP API, processors and retention (starts the local stack first unless --no-stack)')
    .option('--roles <list>', `comma-separated subset of ${ROLES.join(',')}`, 'all')
    .option('--no-stack', 'do not start local Kafka/Redis/Azurite; use the configured endpoints as they are')
    .action(async (opts: { roles: string; stack: boolean }) => {
      const config = loadConfig();
      const roles = parseRoles(opts.roles);
      if (opts.stack) {
        await stackUp(config, { reporter: { step: (message) => process.stderr.write(`stack: ${message}\n`) } });
      }
      // While the start waits for Kafka (the API already serving), Ctrl-C ends the process at once:
      // what the spool took is on disk for the next start.
      const whileStarting = (signal: string): void => {
        log.warn({ signal }, 'stopped while starting');
        process.exit(130);
      };
      process.once('SIGINT', whileStarting);
      process.once('SIGTERM', whileStarting);
      const service = await startService(config, roles);
      process.off('SIGINT', whileStarting);
      process.off('SIGTERM', whileStarting);
      process.stderr.write(
        `engagement running (${roles.join(', ')})${service.server ? ` on ${service.server.url}` : ''}; Ctrl-C stops it\n` +
          (service.server ? `next: npx engagement demo\n` : ''),
      );
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string): void => {
          log.info({ signal }, 'shutting down');
          service.stop().then(({ clean }) => {
            if (!clean) process.exitCode = 1;
            resolve();
          }, (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
      });
      // The stack is detached on purpose (a restart of the service keeps Kafka's data warm), so say
      // what keeps running after Ctrl-C instead of leaving the user to find stray Java processes.
      if (opts.stack) process.stderr.write(stillRunningMessage(runningManaged()));
      process.exit();
    });
}
