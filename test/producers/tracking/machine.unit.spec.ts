import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../core/config.js';
import { machineReason, type InteractionFacts } from '../../../producers/tracking/machine.js';

const rules = { machineClickSeconds: 5, machineUserAgents: [...DEFAULTS.MACHINE_USER_AGENTS] };
const sentAtSec = 1_790_000_000;
const human: InteractionFacts = {
  kind: 'c',
  method: 'GET',
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15',
  sentAtSec,
  nowMs: (sentAtSec + 3600) * 1000,
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
});
