import { describe, expect, it } from 'vitest';
import { countOf, countsInRow } from '../../projections/queries/reply-numbers.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('numbers from a raw read-kpis reply', () => {
  it('reads a row of joined values from the bytes, a missing field (empty) as 0, positions kept', () => {
    expect(countsInRow(b('0,,42,-7,123456789012345'), 5)).toEqual([0, 0, 42, -7, 123456789012345]);
    expect(countsInRow(b(',,'), 3)).toEqual([0, 0, 0]);
    expect(countsInRow(b('7'), 1)).toEqual([7]);
    expect(countsInRow(null, 2)).toEqual([0, 0]);
  });

  it('reads a row value that is not a plain integer as countOf does', () => {
    expect(countsInRow(b('1.9,abc,1e3,-,12345678901234567'), 5)).toEqual([1, 0, 1000, 0, 12345678901234567]);
  });

  it('refuses a row with another number of values than fields read (never numbers in the wrong columns)', () => {
    expect(() => countsInRow(b('1,2,3'), 2)).toThrow(/3 values where 2 fields/);
    expect(() => countsInRow(b('1,2'), 3)).toThrow(/2 values where 3 fields/);
    expect(() => countsInRow(b(''), 2)).toThrow(/1 values where 2 fields/);
  });

  it('reads the rest as Lua tonumber did: not a number is 0, a fraction truncated, long integers exactly as Number reads them', () => {
    expect(countOf(b(''))).toBe(0);
    expect(countOf(b('-'))).toBe(0);
    expect(countOf(b('abc'))).toBe(0);
    expect(countOf(b('1.9'))).toBe(1);
    expect(countOf(b('-1.9'))).toBe(-1);
    expect(countOf(b('1e3'))).toBe(1000);
    expect(countOf(b(' 5'))).toBe(5);
    expect(countOf(b('9007199254740993'))).toBe(Number('9007199254740993'));
    expect(countOf(b('-12345678901234567'))).toBe(-12345678901234567);
  });

  it('reads a Buffer that is a slice of a larger reply buffer by its own bytes', () => {
    const whole = b('xx12.5yy');
    expect(countOf(whole.subarray(2, 6))).toBe(12);
    expect(countOf(whole.subarray(2, 4))).toBe(12);
  });
});
