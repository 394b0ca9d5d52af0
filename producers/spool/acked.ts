/**
 * The spool's `ACKED` file: the position up to which Kafka acknowledged the spool's records. Every
 * segment before it is deleted on restart, so a damaged file would delete records never sent; a
 * checksum makes damage visible, and a damaged file is distrusted (everything present is sent
 * again, which eventIds make harmless). A file without one was written before the checksum and is
 * read as it always was. Pure.
 */
import { crc32 } from 'node:zlib';
import type { SpoolPosition } from './segment-reader.js';

const WIDTH = 16;

const checksum = (pos: SpoolPosition): string => crc32(`${pos.seq} ${pos.offset}`).toString(16).padStart(8, '0');

/** One fixed-width line, so each write overwrites the last in place. */
export function formatAcked(pos: SpoolPosition): string {
  return `${String(pos.seq).padStart(WIDTH, ' ')} ${String(pos.offset).padStart(WIDTH, ' ')} ${checksum(pos)}\n`;
}

export type AckedRead = { position: SpoolPosition } | { damaged: string };

/** The position a file's text holds, or why it cannot be trusted. */
export function parseAcked(text: string): AckedRead {
  const parts = text.trim().split(/\s+/);
  const [seq, offset] = parts.slice(0, 2).map((part) => (/^\d+$/.test(part) ? Number(part) : NaN));
  if (parts.length < 2 || parts.length > 3 || !Number.isSafeInteger(seq) || !Number.isSafeInteger(offset)) return { damaged: 'not a position' };
  const position = { seq: seq!, offset: offset! };
  if (parts.length === 3 && parts[2] !== checksum(position)) return { damaged: 'checksum mismatch' };
  return { position };
}
