import { describe, expect, it } from 'vitest';
import { formatAcked, parseAcked } from '../../../producers/spool/acked.js';

describe('the spool ACKED file', () => {
  it('reads back what it wrote, at one fixed width whatever the numbers', () => {
    for (const pos of [{ seq: 1, offset: 0 }, { seq: 123_456, offset: 9_999_999 }]) {
      expect(parseAcked(formatAcked(pos))).toEqual({ position: pos });
      expect(formatAcked(pos)).toHaveLength(formatAcked({ seq: 1, offset: 0 }).length);
    }
  });

  it('passes over a copy damaged in its position or its checksum for the other one', () => {
    const text = formatAcked({ seq: 3, offset: 4096 });
    const half = text.length / 2;
    // one digit of the segment changed: alone, it would name a later segment still present
    const seqFlipped = text.slice(0, half).replace(/3(?= )/, '5') + text.slice(half);
    expect(parseAcked(seqFlipped)).toEqual({ position: { seq: 3, offset: 4096 } });
    const secondSumFlipped = text.slice(0, half) + text.slice(half).replace(/[0-9a-f]{8}\n$/, 'deadbeef\n');
    expect(parseAcked(secondSumFlipped)).toEqual({ position: { seq: 3, offset: 4096 } });
  });

  it('finds both copies though the newline between them is damaged', () => {
    const text = formatAcked({ seq: 3, offset: 4096 });
    const half = text.length / 2;
    expect(parseAcked(`${text.slice(0, half - 1)}X${text.slice(half)}`)).toEqual({ position: { seq: 3, offset: 4096 } });
    expect(parseAcked(`${text.slice(0, half - 1)}${text.slice(half)}`)).toEqual({ position: { seq: 3, offset: 4096 } });
  });

  it('takes the smaller of two good copies (a write torn between them), never the larger', () => {
    const older = formatAcked({ seq: 3, offset: 4096 });
    const newer = formatAcked({ seq: 4, offset: 10 });
    const half = older.length / 2;
    expect(parseAcked(newer.slice(0, half) + older.slice(half))).toEqual({ position: { seq: 3, offset: 4096 } });
    expect(parseAcked(older.slice(0, half) + newer.slice(half))).toEqual({ position: { seq: 3, offset: 4096 } });
  });

  it('distrusts the file when both copies fail, or when it holds no position', () => {
    const text = formatAcked({ seq: 3, offset: 4096 });
    expect(parseAcked(text.replace(/3(?= )/g, '5'))).toEqual({ damaged: 'checksum mismatch' });
    expect(parseAcked('garbage')).toEqual({ damaged: 'not a position' });
    expect(parseAcked('\0'.repeat(text.length))).toEqual({ damaged: 'not a position' });
    expect(parseAcked('3 -1 00000000\n')).toEqual({ damaged: 'not a position' });
  });

  it('takes a file written before the checksums only in its exact old layout', () => {
    expect(parseAcked('               7              100\n')).toEqual({ position: { seq: 7, offset: 100 } });
    // a copy whose separator before the checksum flipped to a digit is not taken for an old file
    const text = formatAcked({ seq: 3, offset: 4096 });
    const oneLine = text.slice(0, text.length / 2);
    expect(parseAcked(oneLine.replace(/ (?=[0-9a-f]{8}\n$)/, '0'))).toEqual({ damaged: 'not a position' });
  });
});
