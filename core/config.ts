/**
 * The one place configuration is read. `loadConfig` is pure over an env map so tests can
 * build configs for random prefixes without touching process.env.
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngagementError } from './errors.js';

/** The repo's `.stack/` (gitignored), where the local stack keeps its data: the default spool lives there. */
const STACK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.stack');

export interface Config {
  port: number;
  /** interface the HTTP server binds (HOST, default 127.0.0.1) */
  host: string;
  /** honour X-Forwarded-For (TRUST_PROXY=true) when the server sits behind a load balancer */
  trustProxy: boolean;
  publicBaseUrl: string;
  adminKey: string;
  /** [orgId, api key] pairs: an org may have several keys (rotation), a key may serve several orgs */
  apiKeys: ReadonlyArray<readonly [string, string]>;
  /** keys the suppression hashes of DESIGN §2.2 (HMAC-SHA256 of org, recipient type and id) */
  suppressionSecret: string;
  /** kid -> secret; the first entry signs, every entry verifies (rotation). */
  trackingSecrets: ReadonlyArray<{ kid: string; secret: string }>;
  /** signs the dashboard's session cookies (HMAC-SHA256); a new value signs every session out */
  dashboardSessionSecret: string;
  /** lifetime of a dashboard session */
  dashboardSessionHours: number;
  /** ENGAGEMENT_MASTER_KEY: kid -> secret; the first wraps new data keys, every entry unwraps (rotation). */
  masterKeys: ReadonlyArray<{ kid: string; secret: string }>;
  kafkaBrokers: string[];
  kafkaClientId: string;
  kafkaPartitions: number;
  redisUrl: string;
  redisPrefix: string;
  azureConnectionString: string;
  topicPrefix: string;
  blobContainer: string;
  retentionDays: number;
  /** HISTORY_DAYS: the horizon of every KPI; projection keys expire after it, the emails topic keeps it + 7 days */
  historyDays: number;
  blobRetentionDays: number;
  blobFlushSeconds: number;
  blobCycleOffsets: number;
  machineClickSeconds: number;
  /** how far ahead of the receiving clock (API) or the record's timestamp (processors) an occurredAt/sentAt may be */
  maxClockSkewSeconds: number;
  machineUserAgents: string[];
  maxBodyBytes: number;
  retentionIntervalSeconds: number;
  /** SPOOL_DIR: the tracking endpoints' durable spool (one directory per API process) */
  spoolDir: string;
  /** SPOOL_DIR unset on PORT=0: the spool (and the data keys' local copy in it) lives only as long as this process */
  spoolPerProcess: boolean;
  /** SPOOL_MAX_BYTES: above it new tracking records are refused (counted), never the spooled ones evicted */
  spoolMaxBytes: number;
  /** SPOOL_FSYNC_MS: group-commit period, the durability window against a power loss */
  spoolFsyncMs: number;
  /** STOP_TIMEOUT_SECONDS: a graceful stop of `engagement start` gives up after this long (a stalled Kafka) */
  stopTimeoutSeconds: number;
  /** SPOOL_SEGMENT_BYTES: size at which a new segment file starts */
  spoolSegmentBytes: number;
  /**
   * REPLAY_FOLD_MAX_MB: the heap a replay's in-memory fold may fill before it writes what it
   * folded and goes on per batch; 0 (default) is half of the V8 heap limit (replay/fold-budget.ts)
   */
  replayFoldMaxMb: number;
  production: boolean;
}

export const DEFAULTS = {
  PORT: 8080,
  KAFKA_BROKERS: '127.0.0.1:9092',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AZURE_STORAGE_CONNECTION_STRING:
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
    'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
    'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
  TOPIC_PREFIX: 'engagement',
  REDIS_PREFIX: 'eng',
  BLOB_CONTAINER: 'engagement-raw',
  RETENTION_DAYS: 90,
  HISTORY_DAYS: 400,
  BLOB_RETENTION_DAYS: 30,
  BLOB_FLUSH_SECONDS: 10,
  BLOB_CYCLE_OFFSETS: 50_000,
  MACHINE_CLICK_SECONDS: 5,
  MAX_CLOCK_SKEW_SECONDS: 300,
  KAFKA_PARTITIONS: 6,
  MAX_BODY_BYTES: 1_048_576,
  RETENTION_INTERVAL_SECONDS: 3600,
  SPOOL_MAX_BYTES: 1024 * 1_048_576,
  SPOOL_FSYNC_MS: 10,
  STOP_TIMEOUT_SECONDS: 25,
  SPOOL_SEGMENT_BYTES: 16 * 1_048_576,
  REPLAY_FOLD_MAX_MB: 0,
  /** Mail-privacy proxies and link scanners; Gmail's image proxy is deliberately absent. */
  MACHINE_USER_AGENTS: [
    'Mimecast',
    'Barracuda',
    'Proofpoint',
    'Microsoft Office Protection',
    'SafeLinks',
    'Symantec',
    'Trend Micro',
    'FireEye',
    'Forcepoint',
    'YahooMailProxy',
    'Apple Mail Privacy',
    'urlscan',
    'python-requests',
    'curl/',
    'Go-http-client',
    'HeadlessChrome',
  ],
  DEV_ADMIN_KEY: 'dev-admin-key',
  DEV_TRACKING_SECRET: 'k1:dev-tracking-secret-change-me',
  DEV_SUPPRESSION_SECRET: 'dev-suppression-secret-change-me',
  DEV_DASHBOARD_SESSION_SECRET: 'dev-dashboard-session-secret-change-me',
  DASHBOARD_SESSION_HOURS: 8,
  DEV_MASTER_KEY: 'm1:dev-master-key-change-me-not-for-production',
} as const;

/** 127.0.0.0/8, ::1 and localhost: the only interfaces on which the dev defaults of secrets apply. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const str = (name: string, fallback: string | undefined): string => {
    const raw = env[name];
    if (raw !== undefined && raw !== '') return raw;
    if (fallback === undefined) {
      problems.push(`${name} is required`);
      return '';
    }
    return fallback;
  };
  const pairs = (name: string, raw: string): Array<[string, string]> => {
    if (raw.trim() === '') return [];
    return raw.split(',').flatMap((entry) => {
      const at = entry.indexOf(':');
      const left = entry.slice(0, at).trim();
      const right = entry.slice(at + 1).trim();
      if (at <= 0 || right === '') {
        problems.push(`${name} entries must look like "id:value", got "${entry}"`);
        return [];
      }
      return [[left, right] as [string, string]];
    });
  };

  const port = int('PORT', DEFAULTS.PORT, 0, 65535);
  const host = str('HOST', '127.0.0.1');
  // Dev defaults of secrets only on a loopback interface outside production: a server others can
  // reach never runs with a key written in this file.
  const devDefaults = !production && isLoopbackHost(host);
  const requiredBecause = production ? 'when NODE_ENV=production' : `when HOST (${host}) is not a loopback address`;
  const secret = (name: string, fallback: string): string => {
    const raw = env[name];
    if (raw !== undefined && raw !== '') return raw;
    if (devDefaults) return fallback;
    problems.push(`${name} is required ${requiredBecause}`);
    return '';
  };
  const adminKey = secret('ENGAGEMENT_ADMIN_KEY', DEFAULTS.DEV_ADMIN_KEY);
  const apiKeys = pairs('ENGAGEMENT_API_KEYS', env.ENGAGEMENT_API_KEYS ?? '');
  const suppressionSecret = secret('SUPPRESSION_SECRET', DEFAULTS.DEV_SUPPRESSION_SECRET);
  const trackingSecrets = pairs('TRACKING_SECRET', secret('TRACKING_SECRET', DEFAULTS.DEV_TRACKING_SECRET)).map(([kid, value]) => ({
    kid,
    secret: value,
  }));
  if (trackingSecrets.length === 0 && (env.TRACKING_SECRET ?? '') !== '') problems.push('TRACKING_SECRET must name at least one kid:secret');
  for (const { kid } of trackingSecrets) {
    if (!/^[A-Za-z0-9]{1,8}$/.test(kid)) problems.push(`TRACKING_SECRET key id "${kid}" must be 1-8 letters or digits`);
  }
  const dashboardSessionSecret = secret('DASHBOARD_SESSION_SECRET', DEFAULTS.DEV_DASHBOARD_SESSION_SECRET);
  // The master key guards what is in Kafka, and most processes never listen: its dev default also
  // needs every broker on loopback, so a worker pointed at a real cluster never wraps with it.
  const brokersRaw = env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS !== '' ? env.KAFKA_BROKERS : DEFAULTS.KAFKA_BROKERS;
  const brokersLoopback = brokersRaw
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
    .every((b) => isLoopbackHost(b.startsWith('[') ? b.slice(1, b.indexOf(']')) : b.split(':')[0]!));
  const masterSpec =
    (env.ENGAGEMENT_MASTER_KEY ?? '') !== '' || !devDefaults || brokersLoopback
      ? secret('ENGAGEMENT_MASTER_KEY', DEFAULTS.DEV_MASTER_KEY)
      : (problems.push(`ENGAGEMENT_MASTER_KEY is required when KAFKA_BROKERS (${brokersRaw}) are not on a loopback address`), '');
  const masterKeys = pairs('ENGAGEMENT_MASTER_KEY', masterSpec).map(([kid, value]) => ({ kid, secret: value }));
  if (masterKeys.length === 0 && (env.ENGAGEMENT_MASTER_KEY ?? '') !== '') problems.push('ENGAGEMENT_MASTER_KEY must name at least one kid:secret');
  for (const { kid, secret: value } of masterKeys) {
    if (!/^[A-Za-z0-9]{1,8}$/.test(kid)) problems.push(`ENGAGEMENT_MASTER_KEY key id "${kid}" must be 1-8 letters or digits`);
    if (value.length < 16) problems.push(`ENGAGEMENT_MASTER_KEY secret of "${kid}" must have at least 16 characters`);
  }
  if (new Set(masterKeys.map((m) => m.kid)).size !== masterKeys.length) problems.push('ENGAGEMENT_MASTER_KEY names a key id twice');
  const kafkaBrokers = str('KAFKA_BROKERS', DEFAULTS.KAFKA_BROKERS)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const broker of kafkaBrokers) {
    if (!/^[^:\s]+:\d+$/.test(broker)) problems.push(`KAFKA_BROKERS entry "${broker}" must be host:port`);
  }
  const redisUrl = str('REDIS_URL', DEFAULTS.REDIS_URL);
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`);
  const topicPrefix = str('TOPIC_PREFIX', DEFAULTS.TOPIC_PREFIX);
  if (!/^[A-Za-z0-9._-]+$/.test(topicPrefix)) problems.push(`TOPIC_PREFIX may hold only letters, digits, ".", "_" and "-"`);
  const blobContainer = str('BLOB_CONTAINER', DEFAULTS.BLOB_CONTAINER);
  if (!/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/.test(blobContainer)) {
    problems.push(`BLOB_CONTAINER "${blobContainer}" is not a valid container name (3-63 lowercase letters, digits, "-")`);
  }
  const redisPrefix = str('REDIS_PREFIX', DEFAULTS.REDIS_PREFIX);
  if (!/^[A-Za-z0-9_-]+$/.test(redisPrefix)) problems.push('REDIS_PREFIX may hold only letters, digits, "_" and "-"');
  const publicBaseUrl = str('PUBLIC_BASE_URL', `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(publicBaseUrl)) problems.push(`PUBLIC_BASE_URL must be an http(s) URL, got "${publicBaseUrl}"`);
  const machineUserAgents =
    env.MACHINE_USER_AGENTS !== undefined && env.MACHINE_USER_AGENTS !== ''
      ? env.MACHINE_USER_AGENTS.split(',').map((s) => s.trim()).filter(Boolean)
      : [...DEFAULTS.MACHINE_USER_AGENTS];

  const config: Config = {
    port,
    host,
    trustProxy: env.TRUST_PROXY === 'true' || env.TRUST_PROXY === '1',
    publicBaseUrl,
    adminKey,
    apiKeys,
    suppressionSecret,
    trackingSecrets,
    dashboardSessionSecret,
    dashboardSessionHours: int('DASHBOARD_SESSION_HOURS', DEFAULTS.DASHBOARD_SESSION_HOURS, 1, 24 * 30),
    masterKeys,
    kafkaBrokers,
    kafkaClientId: str('KAFKA_CLIENT_ID', 'engagement'),
    kafkaPartitions: int('KAFKA_PARTITIONS', DEFAULTS.KAFKA_PARTITIONS, 1, 1000),
    redisUrl,
    redisPrefix,
    azureConnectionString: str('AZURE_STORAGE_CONNECTION_STRING', DEFAULTS.AZURE_STORAGE_CONNECTION_STRING),
    topicPrefix,
    blobContainer,
    retentionDays: int('RETENTION_DAYS', DEFAULTS.RETENTION_DAYS, 0, 36500),
    historyDays: int('HISTORY_DAYS', DEFAULTS.HISTORY_DAYS, 1, 36500),
    blobRetentionDays: int('BLOB_RETENTION_DAYS', DEFAULTS.BLOB_RETENTION_DAYS, 0, 36500),
    blobFlushSeconds: int('BLOB_FLUSH_SECONDS', DEFAULTS.BLOB_FLUSH_SECONDS, 1, 3600),
    blobCycleOffsets: int('BLOB_CYCLE_OFFSETS', DEFAULTS.BLOB_CYCLE_OFFSETS, 1, 10_000_000),
    machineClickSeconds: int('MACHINE_CLICK_SECONDS', DEFAULTS.MACHINE_CLICK_SECONDS, 0, 3600),
    maxClockSkewSeconds: int('MAX_CLOCK_SKEW_SECONDS', DEFAULTS.MAX_CLOCK_SKEW_SECONDS, 0, 86_400),
    machineUserAgents,
    maxBodyBytes: int('MAX_BODY_BYTES', DEFAULTS.MAX_BODY_BYTES, 1024, 100 * 1_048_576),
    retentionIntervalSeconds: int('RETENTION_INTERVAL_SECONDS', DEFAULTS.RETENTION_INTERVAL_SECONDS, 1, 86_400 * 7),
    spoolDir: path.resolve(str('SPOOL_DIR', defaultSpoolDir(topicPrefix, port))),
    spoolPerProcess: (env.SPOOL_DIR ?? '') === '' && port === 0,
    spoolMaxBytes: int('SPOOL_MAX_BYTES', DEFAULTS.SPOOL_MAX_BYTES, 1_048_576, Number.MAX_SAFE_INTEGER),
    spoolFsyncMs: int('SPOOL_FSYNC_MS', DEFAULTS.SPOOL_FSYNC_MS, 1, 1000),
    stopTimeoutSeconds: int('STOP_TIMEOUT_SECONDS', DEFAULTS.STOP_TIMEOUT_SECONDS, 1, 3600),
    spoolSegmentBytes: int('SPOOL_SEGMENT_BYTES', DEFAULTS.SPOOL_SEGMENT_BYTES, 65_536, 1024 * 1_048_576),
    replayFoldMaxMb: int('REPLAY_FOLD_MAX_MB', DEFAULTS.REPLAY_FOLD_MAX_MB, 0, 1_048_576),
    production,
  };
  if (problems.length > 0) {
    throw new EngagementError('config_invalid', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return config;
}

/**
 * One spool per API process: by topic prefix and port, so two local instances never share one.
 * On port 0 (tests, the bench) the port is only known after listening: the pid stands in, and such
 * a spool is only picked up again by the same pid; set SPOOL_DIR to keep it across restarts.
 */
function defaultSpoolDir(topicPrefix: string, port: number): string {
  return path.join(STACK_DIR, 'spool', `${topicPrefix}-${port === 0 ? `pid${process.pid}` : port}`);
}

/**
 * The environment that makes a child process load the same endpoints, prefixes and landing
 * settings as `config` (the inverse of `loadConfig` for what processors need).
 */
export function configEnv(config: Config): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    KAFKA_CLIENT_ID: config.kafkaClientId,
    REDIS_URL: config.redisUrl,
    AZURE_STORAGE_CONNECTION_STRING: config.azureConnectionString,
    TOPIC_PREFIX: config.topicPrefix,
    REDIS_PREFIX: config.redisPrefix,
    BLOB_CONTAINER: config.blobContainer,
    BLOB_CYCLE_OFFSETS: String(config.blobCycleOffsets),
    BLOB_FLUSH_SECONDS: String(config.blobFlushSeconds),
    HISTORY_DAYS: String(config.historyDays),
    MAX_CLOCK_SKEW_SECONDS: String(config.maxClockSkewSeconds),
    ENGAGEMENT_MASTER_KEY: config.masterKeys.map((m) => `${m.kid}:${m.secret}`).join(','),
  };
}
