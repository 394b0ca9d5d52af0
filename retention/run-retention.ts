import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import { orgBlobPrefix } from '../processors/lander/blob-names.js';
import { landersBehind } from '../processors/lander/lander-acks.js';
import type { EventProducer } from '../producers/event-producer.js';
import { ControlStore } from '../projections/control/control-store.js';
import type { OrgState } from '../projections/control/org-state.js';
import type { Keys } from '../projections/keys.js';
import { fencePurge, orgDigest } from '../projections/purge-fence.js';
import type { OrgPurged } from '../schemas/events.js';
import { orgsDueForPurge } from './plan.js';
import { countExpiredBlobs, deleteExpiredBlobs, purgeOrgBlobs } from './purge-blobs.js';
import { nextStep, parsePurgeRecord, type PurgeRecord, type PurgeStep } from '../projections/purge-record.js';
import { purgeOrgFromRedis } from './purge-redis.js';
import { pruneOrgIndexes } from './prune-index.js';

const log = childLogger('retention');

const NOT_SYNCED = 'the control store is not synced with the control topic on this Redis (the control role rewrites it: is `engagement start` running, and Kafka reachable?)';

/** How long a pass waits for the landers to pass a purge before leaving it to the next pass. */
export const LANDER_WAIT_MS = 30_000;
const LANDER_POLL_MS = 200;

export interface RetentionDeps {
  config: Pick<Config, 'retentionDays' | 'blobRetentionDays'>;
  redis: Redis;
  keys: Keys;
  container: ContainerClient;
  producer: EventProducer;
  /** end offsets of the control topic (partition -> high watermark) */
  controlEnds: () => Promise<ReadonlyMap<number, number>>;
  landerWaitMs?: number;
  /** the keys topic: a purge destroys the org's data keys; each pass rolls its segments (README bound) */
  /** `generations`: the orgs with live data keys and when each generation began (Keyring.generations) */
  dataKeys: { destroy(orgId: string): Promise<void>; rollSegments(): Promise<void>; generations?(): ReadonlyMap<string, number>; caughtUp?(): Promise<void> };
  /** called after each purge step is recorded (tests stop the process there) */
  afterStep?: (orgId: string, step: PurgeStep) => void;
  /** a stop under way: the pass waits for no lander any more and begins no other purge (the next pass resumes) */
  signal?: AbortSignal;
}

export interface PurgeOutcome {
  orgId: string;
  subscriptionEndedAt: string;
  purgedAt: string;
  /** the step an earlier pass left this purge at, null for a purge begun by this pass */
  resumedFrom: PurgeStep | null;
  status: 'completed' | 'waiting' | 'failed';
  /** for an unfinished purge: the step the next pass resumes at */
  step: PurgeStep | null;
  redisKeysDeleted: number;
  blobsDeleted: number;
  reason?: string;
}

export interface RetentionReport {
  now: string;
  /** orgs whose data keys outlived their purge (its record lost before the key step), destroyed by this pass */
  staleKeysDestroyed: string[];
  /** purges completed by this pass (begun now or resumed) */
  purged: PurgeOutcome[];
  /** purges still in progress: the next pass resumes them */
  unfinished: PurgeOutcome[];
  /** why this pass began no purge and resumed none that was not a fact yet (the control store could not be trusted) */
  purgesDeferred?: string;
  expiredBlobsDeleted: number;
  expiredBlobsError?: string;
  /** members of the orgs' key indexes whose key had expired, removed (prune-index.ts) */
  indexEntriesRemoved: number;
  indexError?: string;
}

/**
 * One retention pass at `now`. A purge is a recorded sequence of idempotent steps
 * (projections/purge-record.ts), begun when an org falls due and resumed by every later pass until its last
 * step: a crash or an outage at any step leaves the record, never a half-purged org that is no
 * longer due. Ordered with the processors (DESIGN §2): the OrgPurged event goes to the control
 * topic first; then the purge fence makes the projector refuse every batch gated without it, so
 * the Redis deletions that follow are final (the org's data keys are destroyed right after the
 * event, so its records in the log become unreadable); blobs are deleted only once every lander has passed
 * the event (processors/lander/lander-acks.ts). Then the org key indexes lose the entries of keys
 * that expired (prune-index.ts), and last, expired landing blobs go.
 */
export async function runRetention(deps: RetentionDeps, now: number = Date.now()): Promise<RetentionReport> {
  const control = new ControlStore(deps.redis, deps.keys);
  // Which orgs are due, and whether a renewal cancels a purge, is read from the control store: only
  // from one that holds the whole control topic on this very Redis (a Redis back from an older
  // snapshot may have lost a renewal, and a purge cannot be undone). Otherwise this pass decides
  // nothing and the next one does, once the control role has rewritten the store.
  const read = await readRetentionInputs(deps, control);
  let purgesDeferred = read.purgesDeferred;
  const { inProgress, states } = read;
  // and still so once read: a Redis restarted meanwhile may have answered those reads (ioredis queues them)
  const stillSynced = async (): Promise<boolean> => purgesDeferred === undefined && (await control.isSynced(0));
  if (purgesDeferred === undefined && !(await stillSynced())) purgesDeferred = NOT_SYNCED;
  const outcomes: PurgeOutcome[] = [];

  for (const [orgId, record] of inProgress) {
    if (deps.signal?.aborted) break;
    if (purgesDeferred && (record.step === 'event' || record.again)) {
      // not a fact yet: a renewal the store lost could still cancel it; or one to judge by the store
      outcomes.push(deferredOutcome(orgId, record, purgesDeferred));
      continue;
    }
    if (record.again && BEFORE_DELETIONS.has(record.step) && (await switchedSince(control, orgId, record))) {
      // Recorded again after Redis lost writes, and the org switched since: what it holds now may
      // be its own (collected while enabled again), so nothing of it is deleted.
      await deps.redis.hdel(deps.keys.purges(), orgId);
      log.info({ orgId }, 'a purge recorded again after lost Redis writes is dropped: the org was switched since');
      continue;
    }
    const state = states.get(orgId);
    if (record.step === 'event' && state && state.renewedAt !== null && state.renewedAt >= record.subscriptionEndedAt && (await purgeNotYetAFact(deps, orgId, record, state.renewedAt))) {
      // Renewed before the purge became a fact (its event never acknowledged): cancelled.
      await deps.redis.hdel(deps.keys.purges(), orgId);
      log.info({ orgId }, 'purge cancelled by a renewal before its event');
      continue;
    }
    outcomes.push(await purgeOrg(deps, control, orgId, record, record.step));
  }
  for (const state of purgesDeferred ? [] : orgsDueForPurge(states.values(), now, deps.config.retentionDays)) {
    if (deps.signal?.aborted) break;
    if (inProgress.has(state.orgId)) continue;
    if (!(await stillSynced())) {
      purgesDeferred = NOT_SYNCED;
      break;
    }
    const record: PurgeRecord = { eventId: randomUUID(), purgedAt: purgeStamp(state.subscriptionEndedAt!), subscriptionEndedAt: state.subscriptionEndedAt!, step: 'event' };
    // Recorded before the event is sent: from here on the purge is finished by some pass.
    if ((await deps.redis.hsetnx(deps.keys.purges(), state.orgId, JSON.stringify(record))) === 0) continue;
    outcomes.push(await purgeOrg(deps, control, state.orgId, record, null));
  }

  if (purgesDeferred) log.warn(`no purge decided by this pass: ${purgesDeferred}`);
  const staleKeysDestroyed = await destroyKeysOfPurgedOrgs(deps, new Set([...inProgress.keys(), ...outcomes.map((o) => o.orgId)]));

  // A destroyed key is physically gone once its segment rolled and was compacted: the roll needs an append.
  await deps.dataKeys.rollSegments().catch((error: unknown) => log.warn({ err: error }, 'keys topic segments not rolled; the next pass tries again'));

  let indexEntriesRemoved = 0;
  let indexError: string | undefined;
  try {
    indexEntriesRemoved = await pruneOrgIndexes(deps.redis, deps.keys, [...states.keys()]);
    if (indexEntriesRemoved > 0) log.info({ indexEntriesRemoved }, 'org key index entries of expired keys removed');
  } catch (error) {
    indexError = (error as Error).message;
    log.error({ err: error }, 'org key indexes not pruned; the next pass tries again');
  }

  let expiredBlobsDeleted = 0;
  let expiredBlobsError: string | undefined;
  try {
    expiredBlobsDeleted = await deleteExpiredBlobs(deps.container, now, deps.config.blobRetentionDays);
    if (expiredBlobsDeleted > 0) log.info({ expiredBlobsDeleted }, 'expired landing blobs deleted');
  } catch (error) {
    expiredBlobsError = (error as Error).message;
    log.error({ err: error }, 'expired landing blobs not deleted; the next pass tries again');
  }
  return {
    now: new Date(now).toISOString(),
    staleKeysDestroyed,
    purged: outcomes.filter((o) => o.status === 'completed'),
    unfinished: outcomes.filter((o) => o.status !== 'completed'),
    ...(purgesDeferred !== undefined ? { purgesDeferred } : {}),
    expiredBlobsDeleted,
    ...(expiredBlobsError !== undefined ? { expiredBlobsError } : {}),
    indexEntriesRemoved,
    ...(indexError !== undefined ? { indexError } : {}),
  };
}

/**
 * The data keys of orgs purged after their keys were created, destroyed now. The purge's own key
 * step does that; a purge whose record was lost before it (a Redis flush: the control role writes
 * the purge fence again from the control topic, but nothing resumes the purge) left the key alive
 * for good, and with it every record of the org in the log readable. The fence (sha1(orgId) →
 * purgedAt) is the purge's trace; a generation created after it (the org enabled again) is kept.
 * `skip`: the orgs whose purge this pass ran or resumes.
 */
async function destroyKeysOfPurgedOrgs(deps: RetentionDeps, skip: ReadonlySet<string>): Promise<string[]> {
  if (!deps.dataKeys.generations) return [];
  const destroyed: string[] = [];
  try {
    // the keys topic read to its end first: a lagging reader may not have the key created after a purge
    await deps.dataKeys.caughtUp?.();
    const generations = [...deps.dataKeys.generations()].filter(([orgId]) => !skip.has(orgId));
    if (generations.length === 0) return [];
    const fences = await deps.redis.hmget(deps.keys.purgeFence(), ...generations.map(([orgId]) => orgDigest(orgId)));
    for (const [i, [orgId, createdAt]] of generations.entries()) {
      const purgedAt = fences[i] == null ? NaN : Number(fences[i]);
      if (!(purgedAt >= createdAt)) continue;
      await deps.dataKeys.destroy(orgId);
      destroyed.push(orgId);
      log.warn({ orgId, purgedAt: new Date(purgedAt).toISOString(), keyCreatedAt: new Date(createdAt).toISOString() }, 'data keys of a purged org destroyed (its purge never reached its key step)');
    }
  } catch (error) {
    log.error({ err: error }, 'data keys of purged orgs not checked; the next pass tries again');
  }
  return destroyed;
}

/**
 * When a purge happens. A purge is a control event, stamped with the time the system accepted it
 * (DESIGN §2): a simulated clock (`retention run --now`) decides who is due, never when the purge
 * was. Stamped in the future, every control event until then would count as before the purge (an
 * administrator enabling the org again ignored for as long); in the past, an enable made since
 * would outlive it. After the subscription's end in any case: a clock behind the one that stamped
 * the end would leave the purge before it, and the org still pending a purge.
 */
export function purgeStamp(subscriptionEndedAt: number, realNow: number = Date.now()): number {
  return Math.max(realNow, subscriptionEndedAt + 1);
}

/** What a pass at `now` would do, read and changed nothing (`engagement retention run --dry-run`). */
export interface RetentionPlan {
  now: string;
  /** orgs a pass at `now` would begin to purge */
  due: Array<{ orgId: string; subscriptionEndedAt: string }>;
  /** purges an earlier pass left unfinished, with the step a pass resumes them at */
  unfinished: Array<{ orgId: string; step: PurgeStep; purgedAt: string; again: boolean }>;
  /** why a pass would decide no purge now (the control store not synced on this Redis) */
  purgesDeferred?: string;
  /** landing blobs older than BLOB_RETENTION_DAYS at `now` */
  expiredBlobs: number;
}

export async function planRetention(deps: Pick<RetentionDeps, 'config' | 'redis' | 'keys' | 'container'>, now: number = Date.now()): Promise<RetentionPlan> {
  const control = new ControlStore(deps.redis, deps.keys);
  const { purgesDeferred, inProgress, states } = await readRetentionInputs(deps, control);
  const due = purgesDeferred ? [] : orgsDueForPurge(states.values(), now, deps.config.retentionDays).filter((s) => !inProgress.has(s.orgId));
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    now: iso(now),
    due: due.map((s) => ({ orgId: s.orgId, subscriptionEndedAt: iso(s.subscriptionEndedAt!) })),
    unfinished: [...inProgress].map(([orgId, r]) => ({ orgId, step: r.step, purgedAt: iso(r.purgedAt), again: r.again === true })),
    ...(purgesDeferred !== undefined ? { purgesDeferred } : {}),
    expiredBlobs: await countExpiredBlobs(deps.container, now, deps.config.blobRetentionDays),
  };
}

/** What a pass decides from, read in this order by a pass and by its plan alike. */
async function readRetentionInputs(
  deps: Pick<RetentionDeps, 'redis' | 'keys'>,
  control: ControlStore,
): Promise<{ purgesDeferred: string | undefined; inProgress: Map<string, PurgeRecord>; states: Map<string, OrgState> }> {
  const purgesDeferred = (await control.isSynced(0)) ? undefined : NOT_SYNCED;
  const inProgress = await readPurges(deps);
  const states = await control.readOrgs(await control.listOrgs());
  return { purgesDeferred, inProgress, states };
}

/** The steps of a purge before it deletes anything of the org's data. */
const BEFORE_DELETIONS = new Set<PurgeStep>(['event', 'fence', 'key']);

/**
 * A purge recorded again (`again`) is for an org not enabled after its purge when it was recorded:
 * a switch later than that purge and than the org's switch then (read now: earlier purges of this
 * pass may have waited minutes for the landers) means it may hold data of its own since.
 */
async function switchedSince(control: ControlStore, orgId: string, record: PurgeRecord): Promise<boolean> {
  return (await control.readOrg(orgId)).changedAt > Math.max(record.purgedAt, record.switchedAt ?? 0);
}

/** The org's data key was created after `purgedAt` (the keys topic read to its end first). */
async function keyCreatedAfter(deps: RetentionDeps, orgId: string, purgedAt: number): Promise<boolean> {
  if (!deps.dataKeys.generations) return false;
  await deps.dataKeys.caughtUp?.();
  return (deps.dataKeys.generations().get(orgId) ?? 0) > purgedAt;
}

/** A purge left at its event step by a pass that could not trust the control store. */
function deferredOutcome(orgId: string, record: PurgeRecord, reason: string): PurgeOutcome {
  return {
    orgId,
    subscriptionEndedAt: new Date(record.subscriptionEndedAt).toISOString(),
    purgedAt: new Date(record.purgedAt).toISOString(),
    resumedFrom: record.step,
    status: 'waiting',
    step: record.step,
    redisKeysDeleted: 0,
    blobsDeleted: 0,
    reason,
  };
}

async function readPurges(deps: Pick<RetentionDeps, 'redis' | 'keys'>): Promise<Map<string, PurgeRecord>> {
  const purges = new Map<string, PurgeRecord>();
  for (const [orgId, raw] of Object.entries(await deps.redis.hgetall(deps.keys.purges()))) {
    const record = parsePurgeRecord(raw);
    if (record) purges.set(orgId, record);
    else log.error({ orgId, raw }, 'unreadable purge record left alone');
  }
  return purges;
}

/** Runs the purge from `record.step` to its end; an error stops it at the step that failed. */
async function purgeOrg(deps: RetentionDeps, control: ControlStore, orgId: string, record: PurgeRecord, resumedFrom: PurgeStep | null): Promise<PurgeOutcome> {
  const outcome: PurgeOutcome = {
    orgId,
    subscriptionEndedAt: new Date(record.subscriptionEndedAt).toISOString(),
    purgedAt: new Date(record.purgedAt).toISOString(),
    resumedFrom,
    status: 'completed',
    step: null,
    redisKeysDeleted: 0,
    blobsDeleted: 0,
  };
  if (resumedFrom) log.warn({ orgId, step: resumedFrom }, 'resuming an unfinished purge');
  const event: OrgPurged = { type: 'OrgPurged', eventId: record.eventId, orgId, occurredAt: record.purgedAt };
  let step: PurgeStep | null = record.step;
  try {
    while (step !== null) {
      switch (step) {
        case 'event':
          // Sent again when resumed here: the same eventId, so every reader applies it once.
          await deps.producer.send(event);
          await control.apply([event]);
          record.controlEnds = Object.fromEntries(await deps.controlEnds());
          break;
        case 'key':
          // Crypto-shredding: from here on the org's records in the log are unreadable by anyone.
          // A purge recorded again spares a key created after the purge (the org enabled again since).
          if (!(record.again && (await keyCreatedAfter(deps, orgId, record.purgedAt)))) await deps.dataKeys.destroy(orgId);
          break;
        case 'fence':
          await fencePurge(deps.redis, deps.keys, orgId, record.purgedAt);
          break;
        case 'redis':
          // The control store forgets the org (a purged org reads as never seen) unless it lives on.
          await control.apply([event]);
          outcome.redisKeysDeleted = await purgeOrgFromRedis(deps.redis, deps.keys, orgId);
          break;
        case 'landers': {
          const behind = await waitForLanders(deps, new Map(Object.entries(record.controlEnds ?? {}).map(([p, o]) => [Number(p), o])));
          if (behind.length > 0) {
            outcome.status = 'waiting';
            outcome.step = step;
            outcome.reason = `lander instance(s) ${behind.join(', ')} not yet past the purge event`;
            log.warn({ orgId, behind }, 'purge waits for the landers; the next pass resumes it');
            return outcome;
          }
          break;
        }
        case 'blobs':
          outcome.blobsDeleted = await purgeOrgBlobs(deps.container, orgBlobPrefix(orgId));
          break;
        default: {
          const never: never = step;
          return never;
        }
      }
      const done: PurgeStep = step;
      step = nextStep(done);
      if (step === null) await deps.redis.hdel(deps.keys.purges(), orgId);
      else await deps.redis.hset(deps.keys.purges(), orgId, JSON.stringify({ ...record, step }));
      deps.afterStep?.(orgId, done);
    }
  } catch (error) {
    outcome.status = 'failed';
    outcome.step = step;
    outcome.reason = (error as Error).message;
    log.error({ err: error, orgId, step }, 'purge step failed; the next pass resumes it');
    return outcome;
  }
  log.info(outcome, 'organisation purged');
  return outcome;
}

async function waitForLanders(deps: RetentionDeps, targets: ReadonlyMap<number, number>): Promise<string[]> {
  const deadline = Date.now() + (deps.landerWaitMs ?? LANDER_WAIT_MS);
  for (;;) {
    const behind = await landersBehind(deps.redis, deps.keys, targets);
    if (behind.length === 0 || Date.now() >= deadline || deps.signal?.aborted) return behind;
    await new Promise((resolve) => setTimeout(resolve, LANDER_POLL_MS));
  }
}

/**
 * A renewal cancels a recorded purge only while the purge is not a fact: the renewal came before
 * the purge's instant and no OrgPurged of it reached the control store (which fences it). Once
 * the event is out, the purge is finished whatever came after, or its data would outlive it.
 */
async function purgeNotYetAFact(deps: RetentionDeps, orgId: string, record: PurgeRecord, renewedAt: number): Promise<boolean> {
  if (renewedAt >= record.purgedAt) return false;
  const fenced = await deps.redis.hget(deps.keys.purgeFence(), orgDigest(orgId));
  return fenced === null || Number(fenced) < record.purgedAt;
}

