import type { Command } from 'commander';
import { loadConfig, type Config } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { connectRetention } from '../../retention/connect.js';
import { planRetention, runRetention, type PurgeOutcome, type RetentionPlan, type RetentionReport } from '../../retention/run-retention.js';
import { createRedis } from '../../core/redis.js';
import { createContainerClient } from '../../core/blob.js';
import { keysFor } from '../../projections/keys.js';
import { table } from '../../core/table.js';

/** EX_TEMPFAIL: try again later (the control store is being rewritten). */
export const EXIT_PURGES_DEFERRED = 75;

export function parseNow(raw: string | undefined): number {
  if (raw === undefined) return Date.now();
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new EngagementError('bad_request', `--now must be an ISO-8601 time, got "${raw}"`);
  return ms;
}

export function registerRetentionCommand(program: Command): void {
  program
    .command('retention')
    .description('data retention')
    .command('run')
    .description('purge organisations whose subscription ended over RETENTION_DAYS ago, and expired landing blobs')
    .option('--now <iso>', 'decide as if the clock read ISO (drills, tests): what is due or expired by then is really purged and deleted, and a purge is stamped with the real time; with --dry-run, see that plan only')
    .option('--dry-run', 'change nothing: list the orgs a pass would purge, the purges it would resume and the landing blobs it would delete')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { now?: string; json?: boolean; dryRun?: boolean }) => {
      const now = parseNow(opts.now);
      const config = loadConfig();
      if (opts.dryRun) {
        const redis = createRedis(config);
        try {
          const plan = await planRetention({ config, redis, keys: keysFor(config.redisPrefix), container: createContainerClient(config) }, now);
          process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan, config));
        } finally {
          redis.disconnect();
        }
        return;
      }
      const { deps, close } = await connectRetention(config);
      try {
        const report = await runRetention(deps, now);
        // An unfinished purge is not an error of this pass, but the operator (or cron) must see it.
        if (report.unfinished.some((p) => p.status === 'failed') || report.expiredBlobsError !== undefined) process.exitCode = 1;
        // no purge decided: not a failure of this pass, but one that a cron must not take for done
        else if (report.purgesDeferred !== undefined) process.exitCode = EXIT_PURGES_DEFERRED;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        process.stdout.write(formatReport(report, config));
      } finally {
        await close();
      }
    });
}

export function formatReport(report: RetentionReport, config: Pick<Config, 'retentionDays' | 'blobRetentionDays'>): string {
  const lines = [`retention at ${report.now} (RETENTION_DAYS=${config.retentionDays}, BLOB_RETENTION_DAYS=${config.blobRetentionDays})`];
  const resumed = (p: PurgeOutcome): string => (p.resumedFrom === null ? '' : `from ${p.resumedFrom}`);
  if (report.purgesDeferred !== undefined) lines.push(`no purge decided by this pass: ${report.purgesDeferred}`);
  lines.push(
    report.purged.length === 0
      ? 'no organisation purged'
      : table(
          ['org', 'subscription ended', 'purged at', 'resumed', 'redis keys deleted', 'blobs deleted'],
          report.purged.map((p) => [p.orgId, p.subscriptionEndedAt, p.purgedAt, resumed(p), p.redisKeysDeleted, p.blobsDeleted]),
        ),
  );
  if (report.unfinished.length > 0) {
    lines.push('unfinished purges (the next `retention run` resumes them):');
    lines.push(
      table(
        ['org', 'purged at', 'resumed', 'status', 'stopped at step', 'reason'],
        report.unfinished.map((p) => [p.orgId, p.purgedAt, resumed(p), p.status, p.step ?? '', p.reason ?? '']),
      ),
    );
  }
  if (report.staleKeysDestroyed.length > 0) lines.push(`data keys of purged orgs destroyed (their purge never reached its key step): ${report.staleKeysDestroyed.join(', ')}`);
  lines.push(`org key index entries of expired keys removed: ${report.indexEntriesRemoved}`);
  if (report.indexError !== undefined) lines.push(`org key indexes not pruned: ${report.indexError}`);
  lines.push(`expired landing blobs deleted: ${report.expiredBlobsDeleted}`);
  if (report.expiredBlobsError !== undefined) lines.push(`expired landing blobs not deleted: ${report.expiredBlobsError}`);
  return `${lines.join('\n')}\n`;
}

export function formatPlan(plan: RetentionPlan, config: Pick<Config, 'retentionDays' | 'blobRetentionDays'>): string {
  const lines = [`retention plan at ${plan.now} (RETENTION_DAYS=${config.retentionDays}, BLOB_RETENTION_DAYS=${config.blobRetentionDays}); dry run, nothing changed`];
  if (plan.purgesDeferred !== undefined) lines.push(`a pass would decide no purge now: ${plan.purgesDeferred}`);
  lines.push(
    plan.due.length === 0
      ? 'no organisation due for a purge'
      : `would purge:\n${table(['org', 'subscription ended'], plan.due.map((d) => [d.orgId, d.subscriptionEndedAt]))}`,
  );
  if (plan.unfinished.length > 0) {
    lines.push(`would resume:\n${table(['org', 'purged at', 'at step', 'recorded again'], plan.unfinished.map((u) => [u.orgId, u.purgedAt, u.step, u.again ? 'yes' : '']))}`);
  }
  lines.push(`expired landing blobs it would delete: ${plan.expiredBlobs}`);
  // what a real pass decides only as it goes: said, so a plan is not read as the whole of it
  lines.push('not listed: data keys of purged orgs whose purge never reached its key step (a pass destroys them), and a resumed purge a renewal cancels or a switch since drops');
  return `${lines.join('\n')}\n`;
}
