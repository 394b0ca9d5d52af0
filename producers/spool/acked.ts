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

const LINE_LENGTH = 2 * WIDTH + 10;

/**
 * The position a file's text holds, or why it cannot be trusted. Each copy is looked for at its
 * own place first (a damaged newline between them must not spoil both), then line by line (a
 * shifted byte, or the one-copy file of the first checksummed version). Of two good copies that
 * differ (a write torn between them) the smaller is taken: sending a little again is safe,
 * skipping is not.
 */
export function parseAcked(text: string): AckedRead {
  const legacy = text.length === LEGACY_LENGTH ? LEGACY.exec(text) : null;
  if (legacy) {
    const pos = position(legacy[1]!, legacy[2]!);
    return pos ? { position: pos } : { damaged: 'not a position' };
  }
  const candidates = [text.slice(0, LINE_LENGTH), text.slice(LINE_LENGTH + 1, 2 * LINE_LENGTH + 1), ...text.split('\n')];
  let mismatch = false;
  let found: SpoolPosition | undefined;
  for (const line of candidates) {
    const parts = LINE.exec(line);
    if (!parts) continue;
    const pos = position(parts[1]!, parts[2]!);
    if (!pos || parts[3] !== checksum(pos)) {
      mismatch = true;
      continue;
    }
    if (!found || pos.seq < found.seq || (pos.seq === found.seq && pos.offset < found.offset)) found = pos;
  }
  if (found) return { position: found };
  return { damaged: mismatch ? 'checksum mismatch' : 'not a position' };
}

function position(seq: string, offset: string): SpoolPosition | null {
  const pos = { seq: Number(seq), offset: Number(offset) };
  return Number.isSafeInteger(pos.seq) && Number.isSafeInteger(pos.offset) ? pos : null;
}
