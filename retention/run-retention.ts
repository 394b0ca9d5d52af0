import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import { orgBlobPrefix } from '../processors/lander/blob-names.js';
import type { EventProducer } from '../producers/event-producer.js';
import { ControlStore } from '../projections/control/control-store.js';
import type { Keys } from '../projections/keys.js';
import type { OrgPurged } from '../schemas/events.js';
import { orgsDueForPurge } from './plan.js';
import { deleteExpiredBlobs, purgeOrgBlobs } from './purge-blobs.js';
import { purgeOrgFromRedis } from './purge-redis.js';

const log = childLogger('retention');

export interface RetentionDeps {
  config: Pick<Config, 'retentionDays' | 'blobRetentionDays'>;
  redis: Redis;
  keys: Keys;
  container: ContainerClient;
  producer: EventProducer;
}

export interface PurgedOrg {
  orgId: string;
  subscriptionEndedAt: string;
  redisKeysDeleted: number;
  blobsDeleted: number;
}

export interface RetentionReport {
  now: string;
  purged: PurgedOrg[];
  expiredBlobsDeleted: number;
}

/**
 * One retention pass at `now`: the OrgPurged event goes to the control topic first (so the gate
 * refuses anything of the org up to that instant, in the live run and in every later replay),
 * then the org's projection keys and blobs are deleted; last, expired landing blobs go.
 */
export async function runRetention(deps: RetentionDeps, now: number = Date.now()): Promise<RetentionReport> {
  const control = new ControlStore(deps.redis, deps.keys);
  const states = await control.readOrgs(await control.listOrgs());
  const due = orgsDueForPurge(states.values(), now, deps.config.retentionDays);
  const purged: PurgedOrg[] = [];
  for (const state of due) {
    const event: OrgPurged = { type: 'OrgPurged', eventId: randomUUID(), orgId: state.orgId, occurredAt: now };
    await deps.producer.send(event);
    await control.apply([event]);
    const redisKeysDeleted = await purgeOrgFromRedis(deps.redis, deps.keys, state.orgId);
    const blobsDeleted = await purgeOrgBlobs(deps.container, orgBlobPrefix(state.orgId));
    const entry = {
      orgId: state.orgId,
      subscriptionEndedAt: new Date(state.subscriptionEndedAt!).toISOString(),
      redisKeysDeleted,
      blobsDeleted,
    };
    log.info(entry, 'organisation purged');
    purged.push(entry);
  }
  const expiredBlobsDeleted = await deleteExpiredBlobs(deps.container, now, deps.config.blobRetentionDays);
  if (expiredBlobsDeleted > 0) log.info({ expiredBlobsDeleted }, 'expired landing blobs deleted');
  return { now: new Date(now).toISOString(), purged, expiredBlobsDeleted };
}
