import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import { createServerMetrics, deferredSeries } from '../../api/metrics.js';

describe('the API server metrics', () => {
  it('has every spool append outcome as a series from the start, at 0 (a rate or an alert on "full" needs its zero)', async () => {
    const text = await createServerMetrics({ defaultMetrics: false }).registry.metrics();
    for (const outcome of ['spooled', 'full', 'failed', 'invalid', 'no_key']) expect(text).toContain(`engagement_spool_appends_total{outcome="${outcome}"} 0`);
  });

  it('adds the increments of a deferred series when scraped or read, every one exactly once', async () => {
    const metrics = createServerMetrics({ defaultMetrics: false });
    const recorded = deferredSeries(metrics.trackingRequests, { route: 'open', outcome: 'recorded' });
    const again = deferredSeries(metrics.trackingRequests, { route: 'open', outcome: 'recorded' });
    const spooled = deferredSeries(metrics.spoolAppends, { outcome: 'spooled' });
    for (let i = 0; i < 3; i++) recorded.inc();
    again.inc();
    spooled.inc();
    let text = await metrics.registry.metrics();
    expect(text).toContain('engagement_tracking_requests_total{route="open",outcome="recorded"} 4');
    expect(text).toContain('engagement_spool_appends_total{outcome="spooled"} 1');
    recorded.inc();
    text = await metrics.registry.metrics();
    expect(text).toContain('engagement_tracking_requests_total{route="open",outcome="recorded"} 5');
    expect(text).toContain('engagement_spool_appends_total{outcome="spooled"} 1');
    recorded.inc();
    expect((await metrics.trackingRequests.get()).values.find((v) => v.labels.outcome === 'recorded')?.value).toBe(6);
  });

  it('refuses a deferred series on a counter that would never show it', () => {
    const plain = new Counter({ name: 'plain_total', help: 'no deferred collect', labelNames: ['outcome'], registers: [new Registry()] });
    expect(() => deferredSeries(plain, { outcome: 'x' })).toThrow(/does not collect deferred increments/);
  });

  it('drops what a deferred series holds when its counter is reset, and counts on after it', async () => {
    const metrics = createServerMetrics({ defaultMetrics: false });
    const recorded = deferredSeries(metrics.trackingRequests, { route: 'open', outcome: 'recorded' });
    recorded.inc();
    recorded.inc();
    metrics.registry.resetMetrics();
    recorded.inc();
    expect(await metrics.registry.metrics()).toContain('engagement_tracking_requests_total{route="open",outcome="recorded"} 1');
  });
});
