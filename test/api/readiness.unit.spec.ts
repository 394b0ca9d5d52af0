import { describe, expect, it } from 'vitest';
import { trackingState } from '../../api/routes/ops-routes.js';

describe('whether the server takes tracking requests (/readyz)', () => {
  const spool = (accepting: boolean, sealing = true) => ({ accepting, sealing });

  it('a full spool says so; it turns the server away only with Kafka down (the API serves more than tracking)', () => {
    expect(trackingState(spool(false), false)).toEqual({ tracking: 'spool_full', takesTracking: false });
    expect(trackingState(spool(false), true)).toEqual({ tracking: 'spool_full', takesTracking: true });
  });

  it('with room, Kafka up sends direct, Kafka down spools while hits can be sealed', () => {
    expect(trackingState(spool(true), true)).toEqual({ tracking: 'direct', takesTracking: true });
    expect(trackingState(spool(true), false)).toEqual({ tracking: 'spooling', takesTracking: true });
    expect(trackingState(spool(true, false), false)).toEqual({ tracking: 'keys_unavailable', takesTracking: false });
  });

  it('without a spool, only Kafka takes tracking', () => {
    expect(trackingState(undefined, true)).toEqual({ tracking: 'direct', takesTracking: true });
    expect(trackingState(undefined, false)).toEqual({ tracking: 'unavailable', takesTracking: false });
  });
});
