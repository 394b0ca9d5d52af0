import { describe, expect, it } from 'vitest';
import { promSum } from '../../bench/prom-text.js';

const TEXT = `# HELP engagement_tracking_requests_total Tracking endpoint requests
# TYPE engagement_tracking_requests_total counter
engagement_tracking_requests_total{route="open",outcome="recorded"} 1200
engagement_tracking_requests_total{route="open",outcome="machine"} 34
engagement_tracking_requests_total{route="click",outcome="recorded"} 7
engagement_tracking_requests_total_extra{route="open",outcome="recorded"} 99
engagement_spool_appends_total{outcome="spooled"} 1241
engagement_spool_appends_total{outcome="full"} 2
engagement_spool_write_lost_total 3
engagement_weird{note="a \\"quoted\\", value",route="open"} 5
`;

describe('promSum', () => {
  it('sums the samples of one metric whose labels match, ignoring longer names that share its prefix', () => {
    expect(promSum(TEXT, 'engagement_tracking_requests_total', { route: 'open', outcome: 'recorded' })).toBe(1200);
    expect(promSum(TEXT, 'engagement_tracking_requests_total', { route: 'open' })).toBe(1234);
    expect(promSum(TEXT, 'engagement_spool_appends_total', {})).toBe(1243);
    expect(promSum(TEXT, 'engagement_spool_write_lost_total', {})).toBe(3);
    expect(promSum(TEXT, 'engagement_weird', { route: 'open' })).toBe(5);
    expect(promSum(TEXT, 'engagement_tracking_requests_total', { route: 'attachment' })).toBe(0);
    expect(promSum(TEXT, 'engagement_absent_total', {})).toBe(0);
  });
});
