import { describe, expect, it } from 'vitest';
import { partitionsNotBuilt } from '../../replay/replay-runner.js';

describe('a replay and the partitions of the emails topic', () => {
  it('names the partitions the live version holds that the build did not start with (added while it ran)', () => {
    const start = new Map([[0, 0], [1, 0], [2, 5]]);
    expect(partitionsNotBuilt(start, new Map([[0, 10], [1, 3]]))).toEqual([]);
    expect(partitionsNotBuilt(start, new Map([[0, 10], [4, 1], [3, 2]]))).toEqual([3, 4]);
    expect(partitionsNotBuilt(start, new Map())).toEqual([]);
  });
});
