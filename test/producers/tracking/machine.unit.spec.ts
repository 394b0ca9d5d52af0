import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../core/config.js';
import { ClickBursts } from '../../../producers/tracking/click-bursts.js';
import { machineReason, type InteractionFacts } from '../../../producers/tracking/machine.js';

const rules = { machineClickSeconds: 5, machineUserAgents: [...DEFAULTS.MACHINE_USER_AGENTS] };
const sentAtSec = 1_790_000_000;
const human: InteractionFacts = {
  kind: 'c',
  method: 'GET',
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15',
  sentAtSec,
  nowMs: (sentAtSec + 3600) * 1000,
  burst: false,
};

describe('machineReason', () => {
  it('a person clicking an hour after the send is not a machine', () => {
    expect(machineReason(human, rules)).toBeNull();
    expect(machineReason({ ...human, kind: 'o' }, rules)).toBeNull();
  });

  it('flags HEAD requests', () => {
    expect(machineReason({ ...human, kind: 'o', method: 'HEAD' }, rules)).toBe('head_request');
  });

  it('flags a click less than machineClickSeconds after the send, not one at the limit', () => {
    expect(machineReason({ ...human, nowMs: (sentAtSec + 4) * 1000 + 999 }, rules)).toBe('click_too_soon');
    expect(machineReason({ ...human, nowMs: (sentAtSec + 5) * 1000 }, rules)).toBeNull();
    expect(machineReason({ ...human, kind: 'a', nowMs: sentAtSec * 1000 }, rules)).toBe('click_too_soon');
  });

  it('an open right after the send is not flagged by time', () => {
    expect(machineReason({ ...human, kind: 'o', nowMs: sentAtSec * 1000 }, rules)).toBeNull();
  });

  it('flags configured scanner user agents, case-insensitively', () => {
    expect(machineReason({ ...human, userAgent: 'Mozilla/5.0 (compatible; MIMECAST link checker)' }, rules)).toBe('scanner_user_agent');
    expect(machineReason({ ...human, kind: 'o', userAgent: 'curl/8.5.0' }, rules)).toBe('scanner_user_agent');
  });

  it("Gmail's image proxy is a person opening the mail", () => {
    const gmail = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
    expect(machineReason({ ...human, kind: 'o', userAgent: gmail }, rules)).toBeNull();
    expect(machineReason({ ...human, kind: 'o', userAgent: gmail }, { ...rules, machineUserAgents: ['Google', 'Firefox'] })).toBeNull();
  });

  it('flags a burst of different links', () => {
    expect(machineReason({ ...human, burst: true }, rules)).toBe('multi_link_burst');
  });
});

describe('ClickBursts', () => {
  const t = 1_790_000_000_000;
  it('reports a burst when another target of the same email and recipient was clicked in the same second', () => {
    const bursts = new ClickBursts();
    expect(bursts.record('o/e', 'c1', 'l0', t)).toBe(false);
    expect(bursts.record('o/e', 'c1', 'l0', t + 10)).toBe(false);
    expect(bursts.record('o/e', 'c1', 'l1', t + 20)).toBe(true);
    expect(bursts.record('o/e', 'c2', 'l2', t + 30)).toBe(false);
    expect(bursts.record('o/e', 'c1', 'l2', t + 1000)).toBe(false);
  });

  it('stays bounded, forgetting the least recently used entry', () => {
    const bursts = new ClickBursts(2);
    bursts.record('o/e', 'c1', 'l0', t);
    bursts.record('o/e', 'c2', 'l0', t);
    bursts.record('o/e', 'c1', 'l0', t); // c1 becomes the most recent
    bursts.record('o/e', 'c3', 'l0', t); // evicts c2
    expect(bursts.size).toBe(2);
    expect(bursts.record('o/e', 'c2', 'l1', t)).toBe(false);
    expect(bursts.record('o/e', 'c3', 'l1', t)).toBe(true);
  });
});
