import { describe, expect, it } from 'vitest';
import { countOf, countsOf } from '../../projections/queries/reply-numbers.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('numbers from a raw HMGET reply', () => {
  it('reads integers from the bytes, a missing field as 0, positions kept', () => {
    expect(countsOf([b('0'), null, b('42'), b('-7'), b('123456789012345')])).toEqual([0, 0, 42, -7, 123456789012345]);
    expect(countsOf(null)).toEqual([]);
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
