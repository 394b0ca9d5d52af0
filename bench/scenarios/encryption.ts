/**
 * Issue 13 (crypto-shredding): what sealing costs on the hot paths, measured in one run as a
 * ratio against the same work in clear. Two fresh pipelines get the same records (a slice of the
 * bench backlog): one in clear, as producers wrote before encryption, one sealed with the orgs'
 * data keys as the API writes now. Each is drained by `startProcessors` (gate + projector +
 * lander; the sealed one opens every record), then replayed into a new version; last, the pixel
 * endpoint is loaded on each (sealed token + sealed event vs the legacy signed token + clear
 * event, through the bench-only unsealed server). Aim: every ratio ≥ 0.9.
 */

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { Keyring } from '../../core/keys/keyring.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors } from '../../processors/index.js';
import { metrics } from '../../processors/metrics.js';
import type { RoleStats } from '../../processors/stats.js';
import { signLegacyToken } from '../../producers/tracking/tokens.js';
import { TRACKING_PATHS } from '../../producers/tracking/tracking-urls.js';
import { runReplay } from '../../replay/replay-runner.js';
import { EventCodec } from '../../schemas/codec.js';
import { isEmailEvent } from '../../schemas/events.js';
import { sealEvent } from '../../schemas/sealing.js';
import { createTopics } from '../env.js';
import { produceRaw } from '../kafka-io.js';
import { runLoad } from '../load.js';
import { progress } from '../progress.js';
import { storedOffsetSum } from '../projection-totals.js';
import { startBenchServer } from '../server.js';
import { ratePerSecond, ratio } from '../stats.js';
import type { BenchRow } from '../table.js';
import type { BenchContext, Check, ScenarioResult } from '../types.js';
import type { RawRecord } from '../workload.js';

export const ENCRYPTION_RECORDS = { full: 200_000 } as const;
const PIXEL_REQUESTS = { smoke: 2_000, full: 100_000 } as const;
const RECIPIENTS = 200;
const HUMAN_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (bench)';
type Variant = 'clear' | 'sealed';

function variantConfig(config: Config, variant: Variant): Config {
  const id = randomBytes(2).toString('hex');
  return { ...config, topicPrefix: `${config.topicPrefix}.enc-${variant}`, redisPrefix: `${config.redisPrefix}-enc${variant[0]}${id}`, blobContainer: `${config.blobContainer}-enc${variant[0]}${id}` };
}

async function processedTotal(role: string): Promise<number> {
  const values = (await metrics.processed.get()).values;
  return values.filter((v) => v.labels.role === role).reduce((s, v) => s + v.value, 0);
}

/** The same records with every email event sealed under its org's data key (created here, on the variant's keys topic). */
async function sealRecords(config: Config, records: readonly RawRecord[]): Promise<RawRecord[]> {
  const keys = new Keyring({ kafka: createKafka(config), topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.bench` });
  await keys.start();
  const codec = new EventCodec();
  try {
    const out: RawRecord[] = [];
    for (const record of records) {
      let event;
      try {
        event = codec.decode(record.value);
      } catch {
        out.push(record); // garbage stays garbage: both variants dead-letter it alike
        continue;
      }
      if (!isEmailEvent(event)) {
        out.push(record);
        continue;
      }
      out.push({ ...record, value: codec.encode(sealEvent(event, await keys.ensure(event.orgId))) });
    }
    return out;
  } finally {
    await keys.stop();
  }
}

/** Steady-state rate of one processor instance with every role, from its first record to the last one projected and landed. */
async function drain(config: Config, redis: Redis, records: number, smoke: boolean): Promise<{ rate: number; projector: RoleStats }> {
  const topic = topicsFor(config).emails;
  const before = { projector: await processedTotal('projector'), lander: await processedTotal('lander') };
  const handle = await startProcessors(config);
  let firstAt = 0;
  let doneAt = 0;
  const deadline = Date.now() + (smoke ? 90_000 : 900_000);
  while (doneAt === 0 && Date.now() < deadline) {
    const p = (await processedTotal('projector')) - before.projector;
    const l = (await processedTotal('lander')) - before.lander;
    const now = Date.now();
    if (firstAt === 0 && p + l > 0) firstAt = now;
    if (l >= records && (await storedOffsetSum(redis, config.redisPrefix, topic)) === records) doneAt = Date.now();
    else await new Promise((r) => setTimeout(r, 5));
  }
  const projector = handle.stats().projector as RoleStats;
  await handle.stop();
  if (doneAt === 0) throw new Error(`${config.topicPrefix}: pipeline did not drain ${records} records in time`);
  return { rate: ratePerSecond(records, doneAt - firstAt), projector };
}

async function call(url: string, config: Config, method: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${config.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

/** Pixel requests/s on one variant's server: sealed tokens and events, or legacy signed tokens and clear events. */
async function pixelRate(config: Config, variant: Variant, amount: number, smoke: boolean): Promise<number> {
  const server = await startBenchServer(config, { unsealed: variant === 'clear' });
  try {
    const orgId = `bench-pixel-${randomBytes(3).toString('hex')}`;
    await call(server.url, config, 'PUT', `/v1/orgs/${orgId}/engagement`, { enabled: true });
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ contactId: `r-${i}`, type: 'contact' }));
    const sent = (await call(server.url, config, 'POST', `/v1/orgs/${orgId}/emails`, { emailId: 'e-pixel', senderId: 's', recipients, links: [], follow: true })) as {
      recipients: Array<{ openPixelUrl?: string }>;
    };
    const sentAtSec = Math.floor(Date.now() / 1000);
    const paths =
      variant === 'sealed'
        ? sent.recipients.map((r) => new URL(r.openPixelUrl!).pathname)
        : recipients.map((r) => `${TRACKING_PATHS.o}${signLegacyToken({ kind: 'o', orgId, emailId: 'e-pixel', contactId: r.contactId, recipientType: 'contact', sentAtSec }, config.trackingSecrets)}`);
    for (let i = 0; i < 500; i += 50) await Promise.all(paths.slice(0, 50).map((url) => server.app.inject({ method: 'GET', url, headers: { 'user-agent': HUMAN_AGENT } })));
    const load = await runLoad({ baseUrl: server.url, paths, headers: { 'user-agent': HUMAN_AGENT }, connections: 50, amount, maxDurationMs: smoke ? 10_000 : 20_000 });
    return load.requestsPerSecond;
  } finally {
    await server.close();
  }
}

export async function encryptionScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'encryption';
  const records = ctx.smoke ? ctx.workload.emails : ctx.workload.emails.slice(0, ENCRYPTION_RECORDS.full);
  const configs: Record<Variant, Config> = { clear: variantConfig(ctx.config, 'clear'), sealed: variantConfig(ctx.config, 'sealed') };
  ctx.sinks.push(configs.clear, configs.sealed);
  for (const config of Object.values(configs)) {
    await createTopics(config);
    await produceRaw(createKafka(config), topicsFor(config).control, ctx.workload.control);
  }
  progress(`encryption: sealing ${records.length} records`);
  const t0 = Date.now();
  const sealed = await sealRecords(configs.sealed, records);
  const sealUs = ((Date.now() - t0) * 1000) / records.length;
  await produceRaw(createKafka(configs.clear), topicsFor(configs.clear).emails, records);
  await produceRaw(createKafka(configs.sealed), topicsFor(configs.sealed).emails, sealed);

  const rate: Record<string, Record<Variant, number>> = { pipeline: { clear: 0, sealed: 0 }, replay: { clear: 0, sealed: 0 }, pixel: { clear: 0, sealed: 0 } };
  const checks: Check[] = [];
  const projected: Partial<Record<Variant, RoleStats>> = {};
  // Pipelines first, sealed before clear: a lander's uploads slow Azurite down for whatever runs
  // after it (its metadata store grows), so the order favours the clear baseline, not the sealed.
  for (const variant of ['sealed', 'clear'] as const) {
    const config = configs[variant];
    const redis = createRedis(config);
    try {
      progress(`encryption: pipeline (${variant}) over ${records.length} records`);
      const drained = await drain(config, redis, records.length, ctx.smoke);
      rate.pipeline![variant] = drained.rate;
      projected[variant] = drained.projector;
      progress(`encryption: pipeline (${variant}) ${Math.round(drained.rate)} ev/s`);
    } finally {
      redis.disconnect();
    }
  }
  for (const variant of ['clear', 'sealed'] as const) {
    const config = configs[variant];
    const redis = createRedis(config);
    try {
      progress(`encryption: replay (${variant})`);
      const replay = await runReplay({ config, kafka: createKafka(config), redis }, { from: 'earliest' });
      rate.replay![variant] = replay.eventsPerSecond;
      checks.push({ scenario: name, name: `replay (${variant}) switched`, ok: replay.status === 'switched', detail: replay.status });
    } finally {
      redis.disconnect();
    }
  }
  for (const variant of ['clear', 'sealed'] as const) {
    progress(`encryption: pixel (${variant})`);
    rate.pixel![variant] = await pixelRate(configs[variant], variant, ctx.smoke ? PIXEL_REQUESTS.smoke : PIXEL_REQUESTS.full, ctx.smoke);
  }
  const c = projected.clear!;
  const s = projected.sealed!;
  checks.push(
    { scenario: name, name: 'sealed pipeline collects what the clear one does', ok: c.collected === s.collected, detail: `${s.collected} (want ${c.collected})` },
    { scenario: name, name: 'sealed pipeline dead-letters what the clear one does (no key_unknown)', ok: c.deadLettered === s.deadLettered, detail: `${s.deadLettered} (want ${c.deadLettered})` },
  );
  const rows: BenchRow[] = (['pipeline', 'replay', 'pixel'] as const).flatMap((what): BenchRow[] => {
    const unit = what === 'pixel' ? 'req/s' : 'ev/s';
    const r = rate[what]!;
    return [
      { scenario: name, metric: `${what} in clear (same-run baseline)`, value: r.clear, unit },
      { scenario: name, metric: `${what} sealed`, value: r.sealed, unit },
      { scenario: name, metric: `${what} sealed / clear`, value: ratio(r.sealed, r.clear), unit: '×', reference: '≥ 0.9' },
    ];
  });
  rows.push({ scenario: name, metric: 'sealing in the bench process', value: sealUs, unit: 'µs/record', note: 'decode + seal every personal field + encode' });
  return { rows, checks, notes: [`encryption: ${records.length} records per variant; pixel ${ctx.smoke ? PIXEL_REQUESTS.smoke : PIXEL_REQUESTS.full} requests each`] };
}
