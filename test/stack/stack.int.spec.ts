import { describe, expect, it } from 'vitest';
import { stackStatus } from '../../stack/index.js';
import { testConfig } from '../support/env.js';

describe('stackStatus', () => {
  it('reports kafka, redis and azurite healthy at the configured endpoints', async () => {
    const config = testConfig();
    const status = await stackStatus(config);

    expect(status.healthy).toBe(true);
    expect(status.services.map((s) => [s.service, s.healthy])).toEqual([
      ['kafka', true],
      ['redis', true],
      ['azurite', true],
    ]);
    expect(status.services[0]?.endpoint).toBe(config.kafkaBrokers[0]);
  });

  it('reports an unhealthy service without throwing', async () => {
    const status = await stackStatus(testConfig({ REDIS_URL: 'redis://127.0.0.1:1' }));

    expect(status.healthy).toBe(false);
    expect(status.services.find((s) => s.service === 'redis')).toMatchObject({ healthy: false, managed: false });
  });
});
