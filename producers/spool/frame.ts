/**
 * The spool's on-disk record: `[u32 length][u32 CRC32 of payload][payload]`, big-endian. A record
 * cut short by a crash (torn write) or damaged on disk fails the length or the checksum; since the
 * length of a damaged record can't be trusted, nothing after it in that segment is read either
 * (it is counted as a corrupt tail, never thrown). Pure.
 */
import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 8;
/** Far above any spooled event; a larger length is a damaged header, not a record. */
export const MAX_FRAME_PAYLOAD = 1 << 20;

export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** Fills in the header of a frame whose payload is already at `frame[FRAME_HEADER_BYTES..]`. */
export function sealFrame(frame: Buffer): Buffer {
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  return frame;
}

export interface DecodedFrames {
  /** payloads of the valid records, in order, with the byte offset each frame starts at */
  records: Array<{ offset: number; payload: Buffer }>;
  /** bytes of `buffer` made of whole valid records */
  validBytes: number;
  /** bytes after `validBytes` that are not a whole valid record (0 when the buffer ends cleanly) */
  corruptBytes: number;
}

/** Reads whole valid frames from `buffer` (`base` is added to every offset). */
export function decodeFrames(buffer: Buffer, base = 0, maxRecords = Number.POSITIVE_INFINITY): DecodedFrames {
  const records: DecodedFrames['records'] = [];
  let at = 0;
  while (records.length < maxRecords && at + FRAME_HEADER_BYTES <= buffer.length) {
    const length = buffer.readUInt32BE(at);
    if (length > MAX_FRAME_PAYLOAD || at + FRAME_HEADER_BYTES + length > buffer.length) break;
    const payload = buffer.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4)) break;
    records.push({ offset: base + at, payload });
    at += FRAME_HEADER_BYTES + length;
  }
  const stoppedByLimit = records.length >= maxRecords;
  return { records, validBytes: at, corruptBytes: stoppedByLimit ? 0 : buffer.length - at };
}
