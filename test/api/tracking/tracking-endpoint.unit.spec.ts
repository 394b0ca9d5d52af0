import { describe, expect, it } from 'vitest';
import { createServerMetrics } from '../../../api/metrics.js';
import type { RouteDeps } from '../../../api/routes/route-deps.js';
import { trackingHandler } from '../../../api/tracking/tracking-endpoint.js';
import { signToken } from '../../../producers/tracking/tokens.js';

const secrets = [{ kid: 'k1', secret: 'a-tracking-secret-of-some-length' }];
const who = { orgId: 'o-1', emailId: 'e-1', contactId: 'c-1', recipientType: 'contact' as const, sentAtSec: 1_700_000_000 };

describe('trackingHandler: the person always gets an answer', () => {
  it('answers the pixel and a 404 for a link when recording throws, and logs it', () => {
    const errors: string[] = [];
    const deps = {
      config: { trackingSecrets: secrets, machineClickSeconds: 0, machineUserAgents: [] },
      metrics: createServerMetrics({ defaultMetrics: false }),
      now: () => 1_800_000_000_000,
      newEventId: () => '00000000-0000-4000-8000-000000000001',
      spool: {
        append() {
          throw new Error('disk gone');
        },
      },
    } as unknown as RouteDeps;
    const handle = trackingHandler(deps, { warn: () => undefined, error: (_fields, message) => errors.push(message) });
    const client = { method: 'GET', userAgent: 'Mozilla/5.0', ip: '192.0.2.1' };
    expect(handle('o', signToken({ ...who, kind: 'o' }, secrets), client)).toEqual({ kind: 'pixel' });
    expect(handle('c', signToken({ ...who, kind: 'c', linkId: 'l0', url: 'https://example.com/' }, secrets), client)).toEqual({ kind: 'not_found' });
    expect(errors).toEqual(['tracking request failed', 'tracking request failed']);
  });

  it('answers a link issued to an address-like id before the rule, but records nothing (DESIGN §2.5)', async () => {
    const appended: unknown[] = [];
    const metrics = createServerMetrics({ defaultMetrics: false });
    const deps = {
      config: { trackingSecrets: secrets, machineClickSeconds: 0, machineUserAgents: [] },
      metrics,
      now: () => 1_800_000_000_000,
      newEventId: () => '00000000-0000-4000-8000-000000000002',
      spool: { append: (event: unknown) => (appended.push(event), 'spooled') },
    } as unknown as RouteDeps;
    const handle = trackingHandler(deps, { warn: () => undefined, error: () => undefined });
    const client = { method: 'GET', userAgent: 'Mozilla/5.0', ip: '192.0.2.1' };
    expect(handle('o', signToken({ ...who, contactId: 'alice@example.com', kind: 'o' }, secrets), client)).toEqual({ kind: 'pixel' });
    expect(handle('c', signToken({ ...who, contactId: 'alice@example.com', kind: 'c', linkId: 'l0', url: 'https://example.com/' }, secrets), client)).toEqual({ kind: 'redirect', location: 'https://example.com/' });
    expect(appended).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('engagement_tracking_requests_total')).toContain('outcome="address_id"');
    handle('o', signToken({ ...who, kind: 'o' }, secrets), client);
    expect(appended).toHaveLength(1);
  });
});
