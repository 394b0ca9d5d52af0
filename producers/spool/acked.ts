/**
 * The spool's `ACKED` file: the position up to which Kafka acknowledged the spool's records. Every
 * segment before it is deleted on restart, so a damaged file would delete records never sent. The
 * position is written twice in one write, each copy with its checksum: a copy that fails its
 * checksum is passed over for the other, and only when both fail is the file distrusted (then
 * everything present is sent again: eventIds make that harmless within the projector's 8-day
 * de-duplication window, not beyond it, which is why one damaged copy must not come to that). A
 * file in the layout written before the checksums is read as it always was. Pure.
 */
import { crc32 } from 'node:zlib';
import type { SpoolPosition } from './segment-reader.js';

const WIDTH = 16;

const checksum = (pos: SpoolPosition): string => crc32(`${pos.seq} ${pos.offset}`).toString(16).padStart(8, '0');

/** Fixed width, so each write overwrites the last in place. */
export function formatAcked(pos: SpoolPosition): string {
  const line = `${String(pos.seq).padStart(WIDTH, ' ')} ${String(pos.offset).padStart(WIDTH, ' ')} ${checksum(pos)}\n`;
  return line + line;
}

export type AckedRead = { position: SpoolPosition } | { damaged: string };

/** `<seq> <offset>` as the spool wrote it before the checksums: two right-aligned 16-character fields */
const LEGACY = /^ *(\d{1,16}) +(\d{1,16})\n$/;
const LEGACY_LENGTH = 2 * WIDTH + 2;
const LINE = /^ *(\d{1,16}) +(\d{1,16}) ([0-9a-f]{8})$/;

/** The position a file's text holds, or why it cannot be trusted. */
export function parseAcked(text: string): AckedRead {
  const legacy = text.length === LEGACY_LENGTH ? LEGACY.exec(text) : null;
  if (legacy) {
    const pos = position(legacy[1]!, legacy[2]!);
    return pos ? { position: pos } : { damaged: 'not a position' };
  }
  let mismatch = false;
  for (const line of text.split('\n')) {
    const parts = LINE.exec(line);
    if (!parts) continue;
    const pos = position(parts[1]!, parts[2]!);
    if (pos && parts[3] === checksum(pos)) return { position: pos };
    mismatch = true;
  }
  return { damaged: mismatch ? 'checksum mismatch' : 'not a position' };
}

function position(seq: string, offset: string): SpoolPosition | null {
  const pos = { seq: Number(seq), offset: Number(offset) };
  return Number.isSafeInteger(pos.seq) && Number.isSafeInteger(pos.offset) ? pos : null;
}
