import { describe, expect, it } from 'vitest';
import { formatAcked, parseAcked } from '../../../producers/spool/acked.js';

describe('the spool ACKED line', () => {
  it('reads back what it wrote, at one fixed width whatever the numbers', () => {
    for (const pos of [{ seq: 1, offset: 0 }, { seq: 123_456, offset: 9_999_999 }]) {
      expect(parseAcked(formatAcked(pos))).toEqual({ position: pos });
      expect(formatAcked(pos)).toHaveLength(formatAcked({ seq: 1, offset: 0 }).length);
    }
  });

  it('distrusts a line whose position or checksum was damaged', () => {
    const line = formatAcked({ seq: 3, offset: 4096 });
    // one digit of the segment changed: it would name a later segment still present
    expect(parseAcked(line.replace(/3(?= )/, '5'))).toEqual({ damaged: 'checksum mismatch' });
    expect(parseAcked(line.replace(/[0-9a-f]{8}\n$/, 'deadbeef\n'))).toEqual({ damaged: 'checksum mismatch' });
    expect(parseAcked('garbage')).toEqual({ damaged: 'not a position' });
    expect(parseAcked('3 -1 00000000')).toEqual({ damaged: 'not a position' });
    expect(parseAcked('3 4096 a b')).toEqual({ damaged: 'not a position' });
  });

  it('takes a line written before the checksum as it always did', () => {
    expect(parseAcked('               7              100\n')).toEqual({ position: { seq: 7, offset: 100 } });
  });
});
