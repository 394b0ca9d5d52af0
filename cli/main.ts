import { Command } from 'commander';
import { isEngagementError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

const program = new Command('engagement')
  .description('Email engagement pipeline: producers, processors, KPI projections and operations')
  .showHelpAfterError();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isEngagementError(error)) {
    process.stderr.write(`engagement: ${error.message} [${error.code}]\n`);
  } else {
    process.stderr.write(`engagement: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
  // A command that failed half-way may leave clients open (a Redis or Kafka connection): they must
  // not keep a failed process alive for a supervisor to take for a running one.
  setTimeout(() => process.exit(1), 2000).unref();
}
