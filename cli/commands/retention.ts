import type { Command } from 'commander';
import { createContainerClient } from '../../core/blob.js';
import { loadConfig } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { EventProducer } from '../../producers/event-producer.js';
import { keysFor } from '../../projections/keys.js';
import { runRetention } from '../../retention/run-retention.js';
import { table } from '../../core/table.js';

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
    .option('--now <iso>', 'simulate the clock (tests, operators checking a plan)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { now?: string; json?: boolean }) => {
      const now = parseNow(opts.now);
      const config = loadConfig();
      const redis = createRedis(config);
      const producer = new EventProducer(createKafka(config), topicsFor(config));
      try {
        await producer.connect();
        const report = await runRetention(
          { config, redis, keys: keysFor(config.redisPrefix), container: createContainerClient(config), producer },
          now,
        );
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        process.stdout.write(`retention at ${report.now} (RETENTION_DAYS=${config.retentionDays}, BLOB_RETENTION_DAYS=${config.blobRetentionDays})\n`);
        process.stdout.write(
          report.purged.length === 0
            ? 'no organisation due for a purge\n'
            : `${table(
                ['org', 'subscription ended', 'redis keys deleted', 'blobs deleted'],
                report.purged.map((p) => [p.orgId, p.subscriptionEndedAt, p.redisKeysDeleted, p.blobsDeleted]),
              )}\n`,
        );
        process.stdout.write(`expired landing blobs deleted: ${report.expiredBlobsDeleted}\n`);
      } finally {
        await producer.disconnect().catch(() => undefined);
        redis.disconnect();
      }
    });
}
