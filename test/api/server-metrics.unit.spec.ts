import { describe, expect, it } from 'vitest';
import { createServerMetrics } from '../../api/metrics.js';

describe('the API server metrics', () => {
  it('has every spool append outcome as a series from the start, at 0 (a rate or an alert on "full" needs its zero)', async () => {
    const text = await createServerMetrics({ defaultMetrics: false }).registry.metrics();
    for (const outcome of ['spooled', 'full', 'failed', 'invalid', 'no_key']) expect(text).toContain(`engagement_spool_appends_total{outcome="${outcome}"} 0`);
  });
});
