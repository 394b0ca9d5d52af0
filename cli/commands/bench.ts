import type { Command } from 'commander';
import { runBench, SCENARIOS, type ScenarioName } from '../../bench/run.js';

/** `engagement bench [scenario] [--smoke] [--events N] [--seconds N] [--write-results]` (DESIGN §8). */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(`benchmarks on the local real stack: ${SCENARIOS.join(', ')} (default: all)`)
    .argument('[scenario]', `one or more (comma-separated) of ${SCENARIOS.join(', ')}, or all`, 'all')
    .option('--smoke', 'tiny sizes (CI); never writes RESULTS.md', false)
    .option('--events <n>', 'backlog size: records on the emails topic (default 1000000, smoke 20000)')
    .option('--seconds <n>', 'seconds of wrk load per HTTP route: tracking (default 15, smoke 3), kpi (default 8, smoke 2)')
    .option('--write-results', 'append a section to bench/RESULTS.md', false)
    .action(async (scenario: string, opts: { smoke: boolean; events?: string; seconds?: string; writeResults: boolean }) => {
      const wanted = scenario === 'all' ? [...SCENARIOS] : scenario.split(',').map((s) => s.trim());
      const unknown = wanted.filter((s) => !SCENARIOS.includes(s as ScenarioName));
      if (unknown.length > 0 || wanted.length === 0) {
        program.error(`unknown scenario "${unknown.join(',') || scenario}": one or more (comma-separated) of ${SCENARIOS.join(', ')}, or all`);
      }
      const events = opts.events === undefined ? undefined : Number(opts.events);
      if (events !== undefined && (!Number.isInteger(events) || events < 1000)) program.error('--events must be an integer ≥ 1000');
      const seconds = opts.seconds === undefined ? undefined : Number(opts.seconds);
      if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 1 || seconds > 600)) program.error('--seconds must be an integer from 1 to 600');
      const outcome = await runBench({
        scenarios: wanted as ScenarioName[],
        smoke: opts.smoke,
        ...(events !== undefined ? { events } : {}),
        ...(seconds !== undefined ? { seconds } : {}),
        writeResults: opts.writeResults,
        command: `engagement ${process.argv.slice(2).join(' ')}`,
      });
      if (outcome.interrupted) process.exit(130);
      if (outcome.failed.length > 0) process.stderr.write(`bench: ${outcome.failed.length} correctness check(s) failed\n`);
      process.exit(outcome.failed.length > 0 ? 1 : 0);
    });
}
