import type { Command } from 'commander';
import { registerDemoCommand } from './demo.js';
import { registerKpiCommand } from './kpi.js';
import { registerProduceCommand } from './produce.js';
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
  registerDemoCommand(program);
  registerStartCommand(program);
}
