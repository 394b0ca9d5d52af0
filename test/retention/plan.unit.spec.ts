import { describe, expect, it } from 'vitest';
import { purgeStamp } from '../../retention/run-retention.js';
import { evolveOrgState, initialOrgState, type OrgState } from '../../projections/control/org-state.js';
import { blobDate, isBlobExpired, orgsDueForPurge } from '../../retention/plan.js';
import type { ControlEvent } from '../../schemas/events.js';

const DAY = 86_400_000;
const ended = Date.UTC(2026, 0, 1);

function state(orgId: string, events: Array<[ControlEvent['type'], number]>): OrgState {
  return events.reduce(
    (s, [type, occurredAt]) => evolveOrgState(s, { type, occurredAt, orgId, eventId: 'x' } as ControlEvent),
    initialOrgState(orgId),
  );
}

describe('orgs due for a purge', () => {
  const ending = state('a', [['OrgEngagementEnabled', ended - DAY], ['SubscriptionEnded', ended]]);

  it('waits the full retention period', () => {
    expect(orgsDueForPurge([ending], ended + 89 * DAY, 90)).toEqual([]);
    expect(orgsDueForPurge([ending], ended + 90 * DAY, 90)).toEqual([]);
    expect(orgsDueForPurge([ending], ended + 91 * DAY, 90).map((s) => s.orgId)).toEqual(['a']);
  });

  it('is cancelled by a renewal before the purge, and re-armed by a later end', () => {
    const renewed = state('b', [['SubscriptionEnded', ended], ['SubscriptionRenewed', ended + 10 * DAY]]);
    expect(orgsDueForPurge([renewed], ended + 200 * DAY, 90)).toEqual([]);
    const endedAgain = evolveOrgState(renewed, { type: 'SubscriptionEnded', orgId: 'b', eventId: 'y', occurredAt: ended + 20 * DAY });
    expect(orgsDueForPurge([endedAgain], ended + 109 * DAY, 90)).toEqual([]);
    expect(orgsDueForPurge([endedAgain], ended + 111 * DAY, 90).map((s) => s.orgId)).toEqual(['b']);
  });

  it('does not purge twice, nor orgs whose subscription never ended', () => {
    const purged = evolveOrgState(ending, { type: 'OrgPurged', orgId: 'a', eventId: 'z', occurredAt: ended + 91 * DAY });
    expect(orgsDueForPurge([purged, state('c', [['OrgEngagementEnabled', ended]])], ended + 400 * DAY, 90)).toEqual([]);
  });

  it('honours a configured period', () => {
    expect(orgsDueForPurge([ending], ended + 8 * DAY, 7).map((s) => s.orgId)).toEqual(['a']);
  });
});

describe('landing blob expiry', () => {
  const name = 'org=o1/date=2026-01-10/engagement.emails+0+0.avro';

  it('reads the date from the blob path', () => {
    expect(blobDate(name)).toBe('2026-01-10');
    expect(blobDate('elsewhere/file.avro')).toBeNull();
  });

  it('expires blobs older than the landing retention only', () => {
    expect(isBlobExpired(name, Date.UTC(2026, 1, 9), 30)).toBe(false);
    expect(isBlobExpired(name, Date.UTC(2026, 1, 10), 30)).toBe(true);
    expect(isBlobExpired('elsewhere/file.avro', Date.UTC(2030, 0, 1), 30)).toBe(false);
  });
});

describe('purgeStamp', () => {
  it('is the real clock, and after the subscription end when a clock behind the one that stamped the end would put it before', () => {
    expect(purgeStamp(1_000, 5_000)).toBe(5_000);
    expect(purgeStamp(9_000, 5_000)).toBe(9_001);
  });
});
