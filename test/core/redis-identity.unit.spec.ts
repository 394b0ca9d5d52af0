import { describe, expect, it } from 'vitest';
import { redisIdentityOf } from '../../core/redis.js';
import { storeSynced } from '../../projections/control/control-store.js';

const server = (runId: string): string => `# Server\r\nredis_version:7.0.15\r\nrun_id:${runId}\r\ntcp_port:6379\r\n`;
const replication = (replId: string): string => `# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_replid:${replId}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n`;

describe('which Redis the control store was written to', () => {
  it('is its process: a restart, or a failover to a replica, is another Redis; a replica attaching is not', () => {
    const before = redisIdentityOf(server('a1') + replication('r1'));
    expect(before).toBe('a1');
    expect(redisIdentityOf(server('a2') + replication('r1'))).not.toBe(before); // restarted, or another process promoted
    expect(redisIdentityOf(server('a1') + replication('r2'))).toBe(before); // master_replid changes when a replica attaches: nothing lost
  });

  it('is unknown when INFO does not carry run_id (a proxy)', () => {
    expect(redisIdentityOf(replication('r1'))).toBeNull();
  });

  it('a synced mark counts on the Redis it names only, or when either side cannot say', () => {
    expect(storeSynced(null, 'a1')).toBe(false);
    expect(storeSynced(null, null)).toBe(false);
    expect(storeSynced('a1', 'a1')).toBe(true);
    expect(storeSynced('a1', 'a2')).toBe(false);
    expect(storeSynced('2026-11-26T10:00:00.000Z', 'a1')).toBe(false); // a mark of before identities: rewritten once
    expect(storeSynced('a1', null)).toBe(true);
    expect(storeSynced('unknown', 'a1')).toBe(true);
  });
});
