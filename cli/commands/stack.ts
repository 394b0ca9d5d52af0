import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { stackDown, stackStatus, stackUp, type StackReporter } from '../../stack/index.js';
import { formatServices } from '../../stack/format.js';

/** Prints steps, and a waiting line every few seconds (rewritten in place on a terminal). */
function consoleReporter(out: NodeJS.WriteStream = process.stdout): StackReporter {
  const lastShown = new Map<string, number>();
  let inPlace = false;
  const endLine = (): void => {
    if (inPlace) out.write('\n');
    inPlace = false;
  };
  return {
    step(message) {
      endLine();
      out.write(`${message}\n`);
    },
    waiting(service, elapsedMs) {
      const seconds = Math.floor(elapsedMs / 1000);
      if (out.isTTY) {
        out.write(`\r${service}: waiting until healthy… ${seconds}s`);
        inPlace = true;
      } else if (seconds >= (lastShown.get(service) ?? -5) + 5) {
        lastShown.set(service, seconds);
        out.write(`${service}: waiting until healthy… ${seconds}s\n`);
      }
    },
  };
}

export function registerStackCommand(program: Command): void {
  const stack = program.command('stack').description('Local Kafka (KRaft), Redis and Azurite for development and CI');

  stack
    .command('up')
    .description('start whatever does not already answer, wait until healthy, create topics and the blob container')
    .action(async () => {
      const config = loadConfig();
      const started = Date.now();
      const result = await stackUp(config, { reporter: consoleReporter() });
      process.stdout.write(
        `${result.started.length === 0 ? 'stack already running' : `stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`}\n` +
          `${formatServices(result.services)}\n` +
          `topics: ${result.topics.join(', ')}\nblob container: ${result.container}\n`,
      );
    });

  stack
    .command('status')
    .description('health of kafka, redis and azurite; exits non-zero if any is unhealthy')
    .action(async () => {
      const status = await stackStatus(loadConfig());
      process.stdout.write(`${formatServices(status.services)}\n`);
      if (!status.healthy) process.exitCode = 1;
    });

  stack
    .command('down')
    .description('stop what `stack up` started (services it did not start are left alone)')
    .option('--purge', 'also delete .stack/ (Kafka data, Azurite data, logs)', false)
    .action(async (options: { purge: boolean }) => {
      await stackDown({ purge: options.purge, reporter: consoleReporter() });
    });
}
