import { describe, expect, it } from 'vitest';
import { keyResolver, mayActOn } from '../../api/auth.js';
import { loadConfig } from '../../core/config.js';
import { isEngagementError } from '../../core/errors.js';

const resolve = keyResolver({ adminKey: 'admin-secret', apiKeys: [['org-a', 'key-a'], ['org-b', 'key-b'], ['org-c', 'key-a']] });

describe('keyResolver', () => {
  it('resolves the admin key to an admin acting on every org', () => {
    const admin = resolve('admin-secret')!;
    expect(admin.admin).toBe(true);
    expect(mayActOn(admin, 'anything')).toBe(true);
  });

  it('resolves an org key to its orgs only', () => {
    const a = resolve('key-a')!;
    expect(a.admin).toBe(false);
    expect([...a.orgIds].sort()).toEqual(['org-a', 'org-c']);
    expect(mayActOn(a, 'org-b')).toBe(false);
  });

  it('refuses unknown keys and prefixes of known ones', () => {
    expect(resolve('nope')).toBeNull();
    expect(resolve('key-')).toBeNull();
    expect(resolve('admin-secret ')).toBeNull();
  });
});

describe('several keys per org (rotation)', () => {
  it('ENGAGEMENT_API_KEYS keeps every key of an org: the old and the new one both work', () => {
    const config = loadConfig({ ENGAGEMENT_API_KEYS: 'org-a:old-key,org-a:new-key,org-b:key-b' });
    const rotating = keyResolver(config);
    for (const key of ['old-key', 'new-key']) expect([...rotating(key)!.orgIds]).toEqual(['org-a']);
    expect([...rotating('key-b')!.orgIds]).toEqual(['org-b']);
  });
});

describe('no default secrets where others can reach the server', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (!isEngagementError(error)) throw error;
      return (error.details as { problems: string[] }).problems;
    }
  };

  it('refuses to start on a non-loopback HOST without ENGAGEMENT_ADMIN_KEY, naming the variable', () => {
    const found = problems({ HOST: '0.0.0.0', TRACKING_SECRET: 'k1:s', SUPPRESSION_SECRET: 's', DASHBOARD_SESSION_SECRET: 'd', ENGAGEMENT_MASTER_KEY: 'm1:a-master-secret-of-16+' });
    expect(found).toEqual(['ENGAGEMENT_ADMIN_KEY is required when HOST (0.0.0.0) is not a loopback address']);
    expect(problems({ HOST: '10.1.2.3' })).toEqual([
      'ENGAGEMENT_ADMIN_KEY is required when HOST (10.1.2.3) is not a loopback address',
      'SUPPRESSION_SECRET is required when HOST (10.1.2.3) is not a loopback address',
      'TRACKING_SECRET is required when HOST (10.1.2.3) is not a loopback address',
      'DASHBOARD_SESSION_SECRET is required when HOST (10.1.2.3) is not a loopback address',
      'ENGAGEMENT_MASTER_KEY is required when HOST (10.1.2.3) is not a loopback address',
    ]);
  });

  it('keeps the dev defaults on loopback interfaces only', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
      expect(loadConfig({ HOST: host }).adminKey).toBe('dev-admin-key');
    }
    expect(loadConfig({ HOST: '0.0.0.0', ENGAGEMENT_ADMIN_KEY: 'a', TRACKING_SECRET: 'k1:s', SUPPRESSION_SECRET: 's', DASHBOARD_SESSION_SECRET: 'd', ENGAGEMENT_MASTER_KEY: 'm1:a-master-secret-of-16+' }).adminKey).toBe('a');
    expect(loadConfig({ HOST: '127.0.0.1' }).masterKeys).toEqual([{ kid: 'm1', secret: 'dev-master-key-change-me-not-for-production' }]);
    expect(problems({ NODE_ENV: 'production' })).toContain('ENGAGEMENT_ADMIN_KEY is required when NODE_ENV=production');
    expect(problems({ NODE_ENV: 'production' })).toContain('ENGAGEMENT_MASTER_KEY is required when NODE_ENV=production');
  });

  it('keeps the dev master key away from a real cluster, whatever HOST says (workers never listen)', () => {
    expect(problems({ KAFKA_BROKERS: 'kafka.example.com:9092' })).toEqual([
      'ENGAGEMENT_MASTER_KEY is required when KAFKA_BROKERS (kafka.example.com:9092) are not on a loopback address',
    ]);
    expect(problems({ KAFKA_BROKERS: '127.0.0.1:9092,localhost:9093' })).toEqual([]);
    expect(problems({ KAFKA_BROKERS: 'kafka.example.com:9092', ENGAGEMENT_MASTER_KEY: 'm9:a-real-master-secret-1' })).toEqual([]);
  });

  it('reads ENGAGEMENT_MASTER_KEY as kid:secret pairs (the first wraps) and refuses weak or malformed ones', () => {
    expect(loadConfig({ ENGAGEMENT_MASTER_KEY: 'm2:new-master-secret-456, m1:old-master-secret-123' }).masterKeys.map((m) => m.kid)).toEqual(['m2', 'm1']);
    expect(problems({ ENGAGEMENT_MASTER_KEY: 'm1:short' })).toEqual(['ENGAGEMENT_MASTER_KEY secret of "m1" must have at least 16 characters']);
    expect(problems({ ENGAGEMENT_MASTER_KEY: 'no-kid' })[0]).toMatch(/ENGAGEMENT_MASTER_KEY entries must look like "id:value"/);
    expect(problems({ ENGAGEMENT_MASTER_KEY: 'm1:old-master-secret-123,m1:new-master-secret-456' })).toEqual(['ENGAGEMENT_MASTER_KEY names a key id twice']);
  });
});
