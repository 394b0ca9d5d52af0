import { describe, expect, it } from 'vitest';
import { EmailMetaLoader } from '../../processors/projector/meta-loader.js';
import { emailMetaKey } from '../../processors/projector/email-meta.js';
import { keysFor } from '../../projections/keys.js';
import type { EmailSent } from '../../schemas/events.js';
import { testRedis } from '../support/env.js';
import { fixture } from '../support/fixtures.js';

const DAY = 86_400_000;

describe('EmailMetaLoader in a replay (real Redis, which holds nothing of these emails)', () => {
  it('keeps the sends already past the horizon whatever its LRU forgets; the others only as long as the LRU does', async () => {
    const { config, redis } = testRedis();
    const keys = keysFor(config.redisPrefix).version(1);
    // an LRU of one entry, HISTORY_DAYS 4
    const loader = new EmailMetaLoader(redis, keys, 1, 4 * 86_400);
    const send = (emailId: string, daysAgo: number): EmailSent => fixture('EmailSent', { orgId: 'o1', emailId, occurredAt: Date.now() - daysAgo * DAY, senderId: `s-${emailId}` });
    const sends = [send('gone-1', 5), send('gone-2', 6), send('young-1', 1), send('young-2', 2)];
    loader.remember(sends, new Map());
    const found = await loader.lookup(sends.map((s) => fixture('EmailOpened', { orgId: 'o1', emailId: s.emailId })));
    expect([...found.keys()].sort()).toEqual([emailMetaKey('o1', 'gone-1'), emailMetaKey('o1', 'gone-2'), emailMetaKey('o1', 'young-2')].sort());
    expect(found.get(emailMetaKey('o1', 'gone-2'))?.senderId).toBe('s-gone-2');
  });
});
