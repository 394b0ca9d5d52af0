import { describe, expect, it } from 'vitest';
import { foldMaxBytes } from '../../replay/fold-budget.js';
import { loadConfig } from '../../core/config.js';
import { isEngagementError } from '../../core/errors.js';

describe('the replay fold memory budget', () => {
  it('REPLAY_FOLD_MAX_MB in MiB, or half the heap limit when 0 (the default)', () => {
    expect(foldMaxBytes(256, 4096 * 1_048_576)).toBe(256 * 1_048_576);
    expect(foldMaxBytes(0, 4096 * 1_048_576)).toBe(2048 * 1_048_576);
    expect(loadConfig({}).replayFoldMaxMb).toBe(0);
    expect(loadConfig({ REPLAY_FOLD_MAX_MB: '512' }).replayFoldMaxMb).toBe(512);
  });

  it('refuses a budget that is not a whole number of MiB, naming the setting', () => {
    let caught: unknown;
    try {
      loadConfig({ REPLAY_FOLD_MAX_MB: '1.5' });
    } catch (error) {
      caught = error;
    }
    expect(isEngagementError(caught) && caught.code).toBe('config_invalid');
    expect((caught as Error).message).toContain('REPLAY_FOLD_MAX_MB must be an integer');
  });
});
