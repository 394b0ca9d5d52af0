import { describe, expect, it } from 'vitest';
import { formatValue, markdownTable, textTable } from '../../bench/table.js';
import { seededRandom } from '../../core/seeded-random.js';
import { zipfSampler } from '../../bench/zipf.js';

describe('bench table', () => {
  const rows = [{ scenario: 'pipeline', metric: 'a|b', value: 123456.7, unit: 'ev/s', reference: '≥ 100k/s' }];

  it('formats values by magnitude', () => {
    expect(formatValue(123456.7)).toBe('123,457');
    expect(formatValue(12.34)).toBe('12.3');
    expect(formatValue(0.734)).toBe('0.73');
    expect(formatValue(Number.NaN)).toBe('-');
    expect(formatValue('n/a')).toBe('n/a');
  });

  it('prints aligned text and escaped markdown', () => {
    expect(textTable(rows).split('\n')[2]).toMatch(/^pipeline\s+a\|b\s+123,457\s+ev\/s\s+≥ 100k\/s$/);
    expect(markdownTable(rows).split('\n')[2]).toBe('| pipeline | a\\|b | 123,457 | ev/s | ≥ 100k/s |  |');
  });
});

describe('zipf sampler', () => {
  it('is seeded and skewed towards index 0', () => {
    const draw = (): number[] => {
      const next = zipfSampler(100, 1.1, seededRandom(7));
      return Array.from({ length: 5000 }, next);
    };
    const a = draw();
    expect(draw()).toEqual(a);
    const zeros = a.filter((i) => i === 0).length;
    const tail = a.filter((i) => i === 99).length;
    expect(zeros).toBeGreaterThan(10 * Math.max(1, tail));
    expect(Math.max(...a)).toBeLessThan(100);
  });
});
