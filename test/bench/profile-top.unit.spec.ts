import { describe, expect, it } from 'vitest';
import { formatProfileTop, profileTop, type CpuProfile } from '../../bench/profile-top.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
/** Samples every 1 ms: fold ×3, then GC, then kafkajs ×2, then fold again. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('fold', 'file:///repo/processors/projector/fold.ts') },
    { id: 2, callFrame: frame('(garbage collector)', '') },
    { id: 3, callFrame: frame('encode', 'file:///repo/node_modules/kafkajs/src/protocol/encoder.js', 41) },
    { id: 4, callFrame: frame('', 'file:///repo/node_modules/@azure/storage-blob/dist/index.js', 9) },
  ],
  samples: [1, 1, 1, 2, 3, 3, 1, 4],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('profileTop', () => {
  it('ranks self time by function and by file or package', () => {
    const top = profileTop(profile);
    expect(top.totalMs).toBe(8);
    expect(top.functions[0]).toEqual(['fold projector/fold.ts', 0.5]);
    expect(top.functions).toContainEqual(['encode protocol/encoder.js:42', 0.25]);
    expect(top.files).toEqual([
      ['projector/fold.ts', 0.5],
      ['kafkajs', 0.25],
      ['(garbage collector)', 0.125],
      ['@azure/storage-blob', 0.125],
    ]);
  });

  it('keeps only the samples inside the window, and the top N', () => {
    const top = profileTop(profile, { fromS: 0.0035, toS: 0.0065, top: 1 });
    expect(top.totalMs).toBe(3);
    expect(top.functions).toEqual([['encode protocol/encoder.js:42', 2 / 3]]);
    expect(formatProfileTop(top)).toContain(' 66.7%  encode protocol/encoder.js:42');
  });
});
