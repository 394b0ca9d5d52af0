import { describe, expect, it } from 'vitest';
import { recordSlices } from '../../core/record-slices.js';

const record = (offset: number, bytes: number) => ({ offset: String(offset), key: Buffer.alloc(2), value: Buffer.alloc(bytes - 2) });

describe('recordSlices', () => {
  it('cuts a batch into runs of at most maxBytes, in order, losing none', () => {
    const records = Array.from({ length: 10 }, (_, i) => record(i, 30));
    const slices = recordSlices(records, 100);
    expect(slices.map((s) => s.map((r) => r.offset))).toEqual([['0', '1', '2'], ['3', '4', '5'], ['6', '7', '8'], ['9']]);
  });

  it('keeps a batch under the limit whole, and puts a record larger than the limit in a run of its own', () => {
    expect(recordSlices([record(0, 10), record(1, 10)], 100)).toHaveLength(1);
    const slices = recordSlices([record(0, 10), record(1, 500), record(2, 10)], 100);
    expect(slices.map((s) => s.map((r) => r.offset))).toEqual([['0'], ['1'], ['2']]);
    expect(recordSlices([], 100)).toEqual([]);
  });

  it('counts a record without key or value as empty', () => {
    expect(recordSlices([{ key: null, value: null }, { key: null, value: null }], 1)).toHaveLength(1);
  });
});
