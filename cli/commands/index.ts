import type { Command } from 'commander';
import { registerBenchCommand } from './bench.js';
import { registerDemoCommand } from './demo.js';
import { registerKpiCommand } from './kpi.js';
import { registerProduceCommand } from './produce.js';
import { registerReplayCommand } from './replay.js';
import { registerRetentionCommand } from './retention.js';
import { registerStackCommand } from './stack.js';
import { registerStartCommand } from './start.js';

/** Each command lives in its own module and registers itself here. */
export function registerCommands(program: Command): void {
  void program;
  registerStackCommand(program);
  registerProduceCommand(program);
  registerKpiCommand(program);
  registerRetentionCommand(program);
  registerReplayCommand(program);
  registerDemoCommand(program);
  registerStartCommand(program);
  registerBenchCommand(program);
}
