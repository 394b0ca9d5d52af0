/**
 * `engagement replay`: rebuild the Redis KPI projection from the topics into a new version and
 * switch to it atomically (replay/replay-runner.ts), or check it (`--verify`), or show the plan
 * (`--dry-run`). `--org` only narrows --verify / --dry-run: with one version pointer for every
 * org, a one-org rebuild could not switch without racing the live projector on that org.
 */

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis, requireRedisVersion } from '../../core/redis.js';
import { formatDifference } from '../../replay/diff.js';
import type { From } from '../../replay/offsets.js';
import { planReplay } from '../../replay/plan.js';
import { replayProgressBar } from '../../replay/progress.js';
import { abortReplay, runReplay, type ReplayResult } from '../../replay/replay-runner.js';
import { runVerify } from '../../replay/verify.js';
import { checkTopics } from '../../service/check-topics.js';
import type { BuildCounters } from '../../replay/version-builder.js';
import { table } from '../../core/table.js';

interface ReplayOptions {
  from: string;
  org?: string;
  dryRun?: boolean;
  verify?: boolean;
  yes?: boolean;
  abort?: boolean;
}

const MAX_PRINTED_DIFFERENCES = 50;

export function parseFrom(raw: string): From {
  if (raw === 'earliest') return 'earliest';
  const ms = Date.parse(raw);
  if (Number.isNaN(ms) || !/^\d{4}-\d\d-\d\d/.test(raw)) throw new EngagementError('bad_request', `--from must be "earliest" or an ISO-8601 time, got "${raw}"`);
  return ms;
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('rebuild the KPI projection from the topics into a new version and switch to it atomically (the live one serves meanwhile)')
    .option('--from <earliest|iso>', 'where to start reading the emails topic; an ISO time rebuilds ONLY the events from that time on', 'earliest')
    .option('--org <orgId>', 'with --verify or --dry-run: only this organisation')
    .option('--dry-run', 'show per partition what would be read; write nothing')
    .option('--verify', 'rebuild into a scratch version and compare it with the live one key by key (exit 1 on any difference)')
    .option('--abort', 'drop an unfinished (interrupted) replay; the live version is untouched')
    .option('--yes', 'do not ask for confirmation')
    .action(async (opts: ReplayOptions) => {
      const from = parseFrom(opts.from);
      if (opts.org !== undefined && !opts.verify && !opts.dryRun) {
        throw new EngagementError(
          'bad_request',
          `--org is only allowed with --verify or --dry-run: every organisation shares one projection version, so a one-org rebuild cannot be switched ` +
            `without racing the live projector on that org. Check one org with \`engagement replay --org ${opts.org} --verify\`; a full \`engagement replay\` rebuilds every org.`,
        );
      }
      if (opts.verify && from !== 'earliest') throw new EngagementError('bad_request', '--verify always rebuilds from the earliest offsets (it compares with the live projection); drop --from');
      if ([opts.verify, opts.dryRun, opts.abort].filter(Boolean).length > 1) throw new EngagementError('bad_request', '--dry-run, --verify and --abort exclude each other');

      const config = loadConfig();
      const redis = createRedis(config);
      const deps = { config, kafka: createKafka(config), redis };
      try {
        // a log shorter than the horizon would rebuild less than the live projection holds
        if (!opts.abort) await Promise.all([checkTopics(config), requireRedisVersion(redis, config.redisUrl)]);
        if (opts.dryRun) return await dryRun(deps, from, opts.org);
        if (opts.verify) return await verify(deps, opts.org);
        if (opts.abort) {
          await confirm(opts, 'Drop the unfinished replay version (the live version is untouched)?');
          const { dropped, keys } = await abortReplay(deps);
          process.stdout.write(dropped === null ? 'no unfinished replay to abort\n' : `dropped unfinished version ${dropped} (${keys} keys); the live version is untouched\n`);
          return;
        }
        const plan = await planReplay(deps, from);
        const partial = plan.from !== 'earliest';
        await confirm(
          opts,
          `${plan.resume ? `Resume the unfinished replay into version ${plan.version}` : `Rebuild the KPI projection into version ${plan.version}`} ` +
            `(${plan.records} records to read from ${plan.from}) and switch queries from version ${plan.current} to it?` +
            (partial ? `\nWARNING: the new version will hold ONLY events read from ${plan.from} on; KPIs of earlier events will be gone once it is live.` : ''),
        );
        await replay(deps, from);
      } finally {
        redis.disconnect();
      }
    });
}

async function confirm(opts: ReplayOptions, question: string): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) throw new EngagementError('bad_request', 'refusing to continue without confirmation: stdin is not a terminal; pass --yes to confirm');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new EngagementError('bad_request', 'replay cancelled');
  } finally {
    rl.close();
  }
}

type Deps = Parameters<typeof runReplay>[0];

async function dryRun(deps: Deps, from: From, org: string | undefined): Promise<void> {
  const plan = await planReplay(deps, from);
  process.stdout.write(
    `live version ${plan.current}; a replay would ${plan.resume ? `resume unfinished version ${plan.version} (started ${plan.resume.startedAt} by ${plan.resume.holder})` : `build version ${plan.version}`} from ${plan.from}\n`,
  );
  process.stdout.write(`${table(['partition', 'from offset', 'to offset', 'records'], plan.partitions.map((p) => [p.partition, p.from, p.to, p.records]))}\n`);
  process.stdout.write(`${plan.records} records to read${org !== undefined ? ` (every org's records are read; only ${org}'s would be folded)` : ''}; nothing written (dry run)\n`);
}

async function verify(deps: Deps, org: string | undefined): Promise<void> {
  const bar = replayProgressBar('verify');
  const result = await runVerify(deps, { ...(org !== undefined ? { orgId: org } : {}), onProgress: bar.update }).finally(bar.stop);
  for (const d of result.differences.slice(0, MAX_PRINTED_DIFFERENCES)) process.stdout.write(`${formatDifference(d)}\n`);
  if (result.differences.length > MAX_PRINTED_DIFFERENCES) process.stdout.write(`… and ${result.differences.length - MAX_PRINTED_DIFFERENCES} more\n`);
  process.stdout.write(
    `verify${org !== undefined ? ` of org ${org}` : ''}: live version ${result.liveVersion} vs a rebuild (scratch version ${result.scratchVersion}, dropped): ` +
      `${result.keysCompared} keys compared, ${result.differences.length} difference(s), ${result.counters.records} records read in ${(result.elapsedMs / 1000).toFixed(1)} s\n`,
  );
  if (result.counters.foldSpilledAt !== null) process.stdout.write(`the rebuild was written ${spillLine(result.counters.foldSpilledAt, result.counters.records)}\n`);
  if (!result.consistent) process.stdout.write('warning: the live projection kept moving during the comparison; differences may be events in flight\n');
  if (result.differences.length > 0) process.exitCode = 1;
}

async function replay(deps: Deps, from: From): Promise<void> {
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupting: finishing the batch in flight (Ctrl-C again to quit at once)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const bar = replayProgressBar('replay');
  let result: ReplayResult;
  try {
    result = await runReplay(deps, { from, signal: abort.signal, onProgress: bar.update });
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
  process.stdout.write(`${summary(result)}\n`);
  if (result.status === 'interrupted') process.exitCode = 130;
}

/** How a build that reached the fold's memory budget was written (BuildCounters.foldSpilledAt). */
export function spillLine(spilledAt: number, records: number): string {
  const why = 'the fold reached its memory budget (REPLAY_FOLD_MAX_MB)';
  return spilledAt < records ? `in memory for the first ${spilledAt} records, then per batch: ${why}` : `in memory; ${why} with its last records, so nothing was left to go per batch`;
}

export function summary(r: ReplayResult): string {
  const c: BuildCounters = r.counters;
  const lines = [
    r.status === 'switched'
      ? `replay done: version ${r.version} is live (was ${r.previous}; its ${r.droppedKeys} keys deleted)`
      : `replay interrupted: version ${r.version} is NOT live (version ${r.previous} still serves); run \`engagement replay\` to resume or \`engagement replay --abort\` to drop it`,
    `  from              ${r.from}${r.resumed ? ' (resumed from the version\'s checkpoint)' : ''}`,
    ...(r.from !== 'earliest' ? [`  partial rebuild   version ${r.version} holds only events read from ${r.from} on; earlier events are not in it`] : []),
    `  events read       ${c.records}`,
    `  collected         ${c.collected}`,
    `  gated out         org_disabled ${c.gatedOut.org_disabled}, contact_opted_out ${c.gatedOut.contact_opted_out}, org_purged ${c.gatedOut.org_purged}, subscription_ended ${c.gatedOut.subscription_ended}, control_unreadable ${c.gatedOut.control_unreadable}`,
    ...(c.foldSpilledAt !== null ? [`  written           ${spillLine(c.foldSpilledAt, c.records)}`] : []),
    `  duplicates        ${c.duplicates}`,
    `  dead letters      ${c.deadLetters} (counted only: the live projector already dead-lettered them)`,
    `  elapsed           ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  events/s          ${r.eventsPerSecond}`,
  ];
  return lines.join('\n');
}
