import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ControlHistory } from '../../processors/gate/control-history.js';
import { gate } from '../../processors/gate/decide.js';
import { openRecords, type ProcessorKeys } from '../../processors/open-records.js';
import type { ControlEvent, EmailEvent } from '../../schemas/events.js';
import { sealEvent } from '../../schemas/sealing.js';
import { fixture } from '../support/fixtures.js';

const T = Date.UTC(2026, 0, 10, 12);
const KEY = { keyId: 'k1', key: randomBytes(32) };

/** A keyring stub: `later` keys appear only once the keys topic is read to its end. */
function keyring(now: Record<string, typeof KEY>, later: Record<string, typeof KEY> = {}): ProcessorKeys & { refreshed: number } {
  const live = new Map(Object.entries(now));
  return {
    refreshed: 0,
    current: (orgId) => {
      const k = live.get(orgId);
      return k ? { orgId, ...k } : undefined;
    },
    key: (orgId, keyId) => (live.get(orgId)?.keyId === keyId ? live.get(orgId)!.key : undefined),
    async caughtUp() {
      this.refreshed++;
      for (const [org, k] of Object.entries(later)) live.set(org, k);
    },
  };
}

function history(...events: ControlEvent[]): ControlHistory {
  const h = new ControlHistory();
  events.forEach((e) => h.apply(e));
  return h;
}

const enabled = fixture('OrgEngagementEnabled', { occurredAt: T - 60_000 });
const record = (event: EmailEvent, offset = 0) => ({ offset, event });
const ctx = (keys: ProcessorKeys, h: ControlHistory, scope: 'gate' | 'projection' | 'all' = 'projection') => ({ keys, history: h, waitForControl: async () => undefined, scope });

describe('opening sealed records before the gate', () => {
  it('opens the fields of the scope with the key the record names; clear records pass as they are', async () => {
    const clear = fixture('EmailOpened', { occurredAt: T });
    const sealed = sealEvent(fixture('LinkClicked', { occurredAt: T }), KEY);
    const keys = keyring({ 'org-1': KEY });
    const { opened, failed } = await openRecords([record(clear, 0), record(sealed, 1)], ctx(keys, history(enabled)));
    expect(failed).toEqual([]);
    expect(opened[0]!.event).toBe(clear);
    const click = opened[1]!.event as typeof sealed;
    expect(click).toMatchObject({ contactId: 'c-1', url: 'https://example.com/offer?x=1' });
    expect(click.userAgent).toBe(sealed.userAgent); // not read by the projector: left sealed
    expect(keys.refreshed).toBe(0);
  });

  it('a key not held yet is looked up again after reading the keys topic to its end', async () => {
    const keys = keyring({}, { 'org-1': KEY });
    const { opened, failed } = await openRecords([record(sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY))], ctx(keys, history(enabled)));
    expect(failed).toEqual([]);
    expect((opened[0]!.event as { contactId: string }).contactId).toBe('c-1');
    expect(keys.refreshed).toBe(1);
  });

  it('an org never purged whose key nobody holds: key_unknown (a dead letter), never a crash or a skip', async () => {
    const event = sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY);
    const { opened, failed } = await openRecords([record(event, 7)], ctx(keyring({}), history(enabled)));
    expect(opened).toEqual([]);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ offset: 7, error: { code: 'key_unknown' } });
  });

  it('a purged org whose key is destroyed: the record stays sealed and the gate counts it org_purged (no dead letter)', async () => {
    const h = history(enabled, fixture('OrgPurged', { occurredAt: T + 1000 }));
    const event = sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY);
    const keys = keyring({});
    const { opened, failed } = await openRecords([record(event)], ctx(keys, h, 'projection'));
    expect(failed).toEqual([]);
    expect(opened[0]!.event).toBe(event);
    expect(keys.refreshed).toBe(0); // a replay of a purged org pays no key look-up
    expect(gate(opened[0]!.event, h)).toEqual({ collect: false, reason: 'org_purged' });
  });

  it('a purged org re-enabled, with a record the gate would collect under a destroyed key: key_unknown', async () => {
    const h = history(enabled, fixture('OrgPurged', { occurredAt: T - 30_000 }), fixture('OrgEngagementEnabled', { occurredAt: T - 20_000 }));
    const event = sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY);
    const { failed } = await openRecords([record(event)], ctx(keyring({}), h));
    expect(failed[0]?.error.code).toBe('key_unknown');
  });

  it('a field that does not open (altered, or another key under the same id): decrypt_failed', async () => {
    const event = sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY);
    const other = { keyId: 'k1', key: randomBytes(32) };
    const { failed } = await openRecords([record(event, 3)], ctx(keyring({ 'org-1': other }), history(enabled)));
    expect(failed[0]).toMatchObject({ offset: 3, error: { code: 'decrypt_failed' } });
  });
});

describe('the gate scope (lander) opens only what the gate reads', () => {
  it('leaves a record sealed when its org has no recipient preference (every recipient allows), opens it when it has one', async () => {
    const event = sealEvent(fixture('EmailOpened', { occurredAt: T }), KEY);
    const none = await openRecords([record(event)], ctx(keyring({}), history(enabled), 'gate'));
    expect(none.opened[0]!.event).toBe(event);
    const optOut = fixture('ContactFollowPreferenceChanged', { occurredAt: T - 1000, contactId: 'c-1', contactType: 'contact', recipientType: null, allow: false });
    const h = history(enabled, optOut);
    const some = await openRecords([record(event)], ctx(keyring({ 'org-1': KEY }), h, 'gate'));
    expect((some.opened[0]!.event as { contactId: string }).contactId).toBe('c-1');
    expect(gate(some.opened[0]!.event, h)).toEqual({ collect: false, reason: 'contact_opted_out' });
  });
});
