import { describe, expect, it } from 'vitest';
import { decodeFrames, encodeFrame, FRAME_HEADER_BYTES } from '../../../producers/spool/frame.js';
import { decodeSpoolMessage, encodeSpoolMessage } from '../../../producers/spool/spool-message.js';

const payloads = [Buffer.from('first'), Buffer.from('second record'), Buffer.alloc(0), Buffer.from('x'.repeat(300))];
const all = Buffer.concat(payloads.map(encodeFrame));

describe('spool frames', () => {
  it('reads back every record with its offset', () => {
    const decoded = decodeFrames(all, 100);
    expect(decoded.records.map((r) => r.payload.toString())).toEqual(payloads.map(String));
    expect(decoded.records[1]!.offset).toBe(100 + FRAME_HEADER_BYTES + 5);
    expect(decoded).toMatchObject({ validBytes: all.length, corruptBytes: 0 });
  });

  it('stops at a record cut mid-way (torn write) and counts the bytes after the last whole one', () => {
    const cut = all.subarray(0, all.length - 10);
    const decoded = decodeFrames(cut);
    expect(decoded.records).toHaveLength(3);
    expect(decoded.corruptBytes).toBe(cut.length - decoded.validBytes);
    expect(decoded.corruptBytes).toBe(FRAME_HEADER_BYTES + 300 - 10);
  });

  it('stops at a flipped byte (checksum) and never reads past it', () => {
    const damaged = Buffer.from(all);
    damaged.writeUInt8(damaged.readUInt8(FRAME_HEADER_BYTES + 2) ^ 0xff, FRAME_HEADER_BYTES + 2); // inside the first payload
    const decoded = decodeFrames(damaged);
    expect(decoded.records).toHaveLength(0);
    expect(decoded.corruptBytes).toBe(all.length);
  });

  it('refuses an absurd length instead of reading it', () => {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(0xffffffff, 0);
    expect(decodeFrames(Buffer.concat([encodeFrame(Buffer.from('ok')), header])).records).toHaveLength(1);
  });

  it('honours a record limit without calling the rest corrupt', () => {
    expect(decodeFrames(all, 0, 2)).toMatchObject({ corruptBytes: 0, records: [{}, {}] });
  });

  it('keeps topic, key, timestamp and value of a message', () => {
    const message = { topic: 't.emails', key: 'org/émail', timestamp: 1_764_000_000_123, value: Buffer.from([0xc3, 1, 2, 3]) };
    const back = decodeSpoolMessage(encodeSpoolMessage(message));
    expect({ ...back, value: [...back.value] }).toEqual({ ...message, value: [...message.value] });
  });
});
