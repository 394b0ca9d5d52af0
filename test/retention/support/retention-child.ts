/**
 * A retention pass that dies by SIGKILL right after it recorded KILL_AFTER_STEP (a purge step of
 * retention/purge-record.ts), at RETENTION_NOW: the crash of the purge tests.
 */
import { loadConfig } from '../../../core/config.js';
import { connectRetention } from '../../../retention/connect.js';
import { runRetention } from '../../../retention/run-retention.js';

const { deps, close } = await connectRetention(loadConfig());
const report = await runRetention(
  {
    ...deps,
    afterStep: (_orgId, step) => {
      if (step === process.env.KILL_AFTER_STEP) process.kill(process.pid, 'SIGKILL');
    },
  },
  Date.parse(process.env.RETENTION_NOW!),
);
process.stdout.write(`${JSON.stringify(report)}\n`);
await close();
