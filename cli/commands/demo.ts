import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { runDemo } from '../../demo/run-demo.js';
import { contactView, emailView, rollupView } from '../format/kpi-views.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a realistic small workload through a running service (npm start) and print its KPIs')
    .option('--url <url>', 'base URL of the service (default: http://127.0.0.1:$PORT)')
    .option('--org <orgId>', 'organisation to use (default: a new demo-<time> org)')
    .option('--json', 'print the KPI documents as JSON')
    .action(async (opts: { url?: string; org?: string; json?: boolean }) => {
      const config = loadConfig();
      const result = await runDemo({
        baseUrl: opts.url ?? `http://127.0.0.1:${config.port}`,
        adminKey: config.adminKey,
        orgId: opts.org,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const out = [
        `\n== Email ${result.liveEmailId} ==`,
        emailView(result.email),
        `\n== Contact ${result.contact.contactId} (last ${result.contact.days} days) ==`,
        contactView(result.contact),
        `\n== Organisation ${result.orgId} ==`,
        rollupView(result.org),
        `\nTry: npx engagement kpi org ${result.orgId}   |   curl -H 'Authorization: Bearer <key>' ${opts.url ?? `http://127.0.0.1:${config.port}`}/v1/orgs/${result.orgId}/kpis`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
