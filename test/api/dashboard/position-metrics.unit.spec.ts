import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OperationsReader, type OperationsDeps } from '../../../api/dashboard/operations-data.js';
import { PositionsSampler, registerPositionMetrics, type Positions } from '../../../api/dashboard/position-metrics.js';

const positions = (lag: number): Positions => ({
  groups: [{ group: 'p.projector', source: 'kafka', topic: 'p.emails', partitions: [{ partition: 0, committed: 1, end: 1 + lag, lag }], totalLag: lag }],
  deadLetterRecords: 4,
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('the lag gauges’ reads', () => {
  it('share one read in flight between concurrent scrapes, then reuse it for the cache period', async () => {
    let clock = 0;
    const reads: Array<ReturnType<typeof deferred<Positions>>> = [];
    const sampler = new PositionsSampler(() => { const d = deferred<Positions>(); reads.push(d); return d.promise; }, { clock: () => clock, cacheMs: 10_000, timeoutMs: 1_000 });
    const a = sampler.sample();
    const b = sampler.sample();
    expect(reads).toHaveLength(1);
    reads[0]!.resolve(positions(3));
    expect(await a).toEqual(positions(3));
    expect(await b).toEqual(positions(3));
    clock += 9_999;
    expect(await sampler.sample()).toEqual(positions(3));
    expect(reads).toHaveLength(1);
    clock += 2;
    const c = sampler.sample();
    expect(reads).toHaveLength(2);
    reads[1]!.reject(new Error('kafka down'));
    expect(await c).toBeNull();
  });

  it('answers a late scrape with nothing, without starting a second read while the first is pending', async () => {
    const reads: Array<ReturnType<typeof deferred<Positions>>> = [];
    const sampler = new PositionsSampler(() => { const d = deferred<Positions>(); reads.push(d); return d.promise; }, { timeoutMs: 5 });
    expect(await sampler.sample()).toBeNull();
    expect(await sampler.sample()).toBeNull();
    expect(reads).toHaveLength(1);
    reads[0]!.resolve(positions(1));
    expect(await sampler.sample()).toEqual(positions(1));
  });

  it('removes the gauges when the read fails instead of keeping stale values, and says so', async () => {
    const registry = new Registry();
    let fail = false;
    let clock = 0;
    registerPositionMetrics(
      registry,
      async () => {
        if (fail) throw new Error('kafka down');
        return positions(7);
      },
      { clock: () => clock },
    );
    const text = await registry.metrics();
    expect(text).toMatch(/^engagement_consumer_lag\{group="p\.projector",partition="0"\} 7$/m);
    expect(text).toMatch(/^engagement_deadletter_records 4$/m);
    expect(text).toMatch(/^engagement_positions_fresh 1$/m);
    fail = true;
    clock += 10_001;
    const down = await registry.metrics();
    expect(down).not.toMatch(/^engagement_consumer_lag\{/m);
    expect(down).not.toMatch(/^engagement_deadletter_records /m);
    expect(down).toMatch(/^engagement_positions_fresh 0$/m);
    fail = false;
    expect(await registry.metrics()).toMatch(/^engagement_deadletter_records 4$/m);
  });
});

describe('the operations reader’s Kafka admin client', () => {
  it('is connected once however many reads overlap its connect, and retried after a failed connect', async () => {
    const connects: Array<ReturnType<typeof deferred<void>>> = [];
    let disconnected = 0;
    const kafka = {
      admin: () => ({
        connect: () => { const d = deferred<void>(); connects.push(d); return d.promise; },
        disconnect: async () => { disconnected++; },
      }),
    };
    const reader = new OperationsReader({ kafka } as unknown as OperationsDeps);
    const connected = () => (reader as unknown as { connectedAdmin(): Promise<unknown> }).connectedAdmin();
    const first = connected().catch((e: unknown) => e);
    const second = connected().catch((e: unknown) => e);
    expect(connects).toHaveLength(1);
    connects[0]!.reject(new Error('no broker'));
    expect(await first).toEqual(new Error('no broker'));
    expect(await second).toEqual(new Error('no broker'));
    expect(disconnected).toBe(1);
    const third = connected();
    const fourth = connected();
    expect(connects).toHaveLength(2);
    connects[1]!.resolve();
    expect(await third).toBe(await fourth);
    await reader.close();
    expect(disconnected).toBe(2);
  });
});
