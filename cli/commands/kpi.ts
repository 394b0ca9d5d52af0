/** Operators' read path: the same query functions as the HTTP API, straight from Redis. */

import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { invalidParameter } from '../../core/errors.js';
import { RECIPIENT_TYPES, type RecipientType } from '../../schemas/events.js';
import { createRedis } from '../../core/redis.js';
import { keysFor } from '../../projections/keys.js';
import { parseDays, queryContactKpis } from '../../projections/queries/contact-kpis.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryRollupKpis } from '../../projections/queries/rollup-kpis.js';
import { contactView, emailView, rollupView } from '../format/kpi-views.js';

async function withRedis<T>(run: (redis: ReturnType<typeof createRedis>, keys: ReturnType<typeof keysFor>, config: ReturnType<typeof loadConfig>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = createRedis(config);
  try {
    return await run(redis, keysFor(config.redisPrefix), config);
  } finally {
    redis.disconnect();
  }
}

function print<T>(json: boolean, value: T, view: (v: T) => string): void {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : view(value)}\n`);
}

export function registerKpiCommand(program: Command): void {
  const kpi = program.command('kpi').description('show engagement KPIs read from the Redis projections');

  kpi
    .command('email <orgId> <emailId>')
    .description('KPIs of one email')
    .option('--json', 'print JSON')
    .action(async (orgId: string, emailId: string, opts: { json?: boolean }) => {
      const result = await withRedis((redis, keys) => queryEmailKpis(redis, keys, orgId, emailId));
      print(Boolean(opts.json), result, emailView);
    });

  kpi
    .command('contact <orgId> <contactId>')
    .description('recipient activity over a window, with the best time to email')
    .option('--days <n>', 'window in days (1-365)', '30')
    .option('--type <type>', 'recipient type: contact, lead or account', 'contact')
    .option('--json', 'print JSON')
    .action(async (orgId: string, contactId: string, opts: { days: string; type: string; json?: boolean }) => {
      const days = parseDays(opts.days);
      if (!RECIPIENT_TYPES.includes(opts.type as RecipientType)) throw invalidParameter('type', `--type must be one of ${RECIPIENT_TYPES.join(', ')}, got "${opts.type}"`);
      const type = opts.type as RecipientType;
      const result = await withRedis((redis, keys, config) => queryContactKpis(redis, keys, orgId, contactId, days, Date.now(), undefined, type, config.historyDays));
      print(Boolean(opts.json), result, contactView);
    });

  const rollup = (name: string, description: string, scopeOf: (id: string) => Parameters<typeof queryRollupKpis>[3]): void => {
    kpi
      .command(`${name} <orgId>${name === 'org' ? '' : ' <id>'}`)
      .description(description)
      .option('--from <date>', 'first day, YYYY-MM-DD (default: 30 days ago)')
      .option('--to <date>', 'last day, YYYY-MM-DD (default: today)')
      .option('--json', 'print JSON')
      .action(async (orgId: string, ...rest: unknown[]) => {
        const id = name === 'org' ? '' : (rest[0] as string);
        const opts = (name === 'org' ? rest[0] : rest[1]) as { from?: string; to?: string; json?: boolean };
        const result = await withRedis((redis, keys, config) => queryRollupKpis(redis, keys, orgId, scopeOf(id), { from: opts.from, to: opts.to }, Date.now(), config.historyDays));
        print(Boolean(opts.json), result, rollupView);
      });
  };
  rollup('org', 'daily series, totals and rates of an organisation', () => ({ kind: 'org' }));
  rollup('sender', 'daily series, totals and rates of one sender', (senderId) => ({ kind: 'sender', senderId }));
  rollup('template', 'daily series, totals and rates of one template', (templateId) => ({ kind: 'template', templateId }));
}
