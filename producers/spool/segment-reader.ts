/**
 * Reading a spool's segments from a position, by whoever sends them: the spool itself
 * (`SegmentSpool.read`) or the sender thread (spool-sender.ts), which gets the segments' written
 * sizes with the position (`SpoolReadPlan`) so it never reads past what the spool has written.
 * Reading only: moving the read position and acknowledging stay with the spool that owns the files.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { RECORD_FRAMING_BYTES, SEND_BATCH_BYTES } from '../../core/record-slices.js';
import { decodeFrames, FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD } from './frame.js';
import { decodeSpoolMessage, type SpoolMessage } from './spool-message.js';

export interface SpoolPosition {
  seq: number;
  offset: number;
}

export interface SegmentRef {
  seq: number;
  file: string;
  /** bytes written (whole frames): nothing after it is read */
  size: number;
}

/** What to read next: the segments from the read position's on, as written when it was made. */
export interface SpoolReadPlan {
  from: SpoolPosition;
  segments: SegmentRef[];
  /** the spool's own bookkeeping (records written when the plan was made); readers pass it through */
  written: number;
}

/** What a read of a plan did, without the messages: what the spool needs to move on. */
export interface SpoolReadResult {
  /** where the read ended: the next read starts there */
  end: SpoolPosition;
  /** true when it reached the end of what the plan's segments hold */
  exhausted: boolean;
  /** damaged since the spool checked them on open (a disk error), skipped: counted */
  corruptTails: number;
  corruptBytes: number;
  /** messages read */
  records: number;
}

export interface SpoolRead extends SpoolReadResult {
  messages: SpoolMessage[];
}

const READ_CHUNK_BYTES = Math.max(1 << 20, FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);
/**
 * Bytes one read hands to one send at most (core/record-slices.ts, the broker's record-batch
 * limit): after an outage most spooled clicks can be one campaign's, under one email's key, and
 * 2,000 sealed clicks of ~650 B were 1.3 MB for one partition, which the drainer retried forever.
 * A record larger than this alone is still one read of its own.
 */
export const SPOOL_SEND_BYTES = SEND_BATCH_BYTES;

/** The descriptor of the segment being read (reads go forward, one segment at a time). */
class SegmentFiles {
  private open: { file: string; fd: number } | undefined;

  fdFor(segment: SegmentRef): number {
    if (this.open?.file !== segment.file) {
      this.close();
      this.open = { file: segment.file, fd: openSync(segment.file, 'r') };
    }
    return this.open.fd;
  }

  close(): void {
    if (this.open) closeSync(this.open.fd);
    this.open = undefined;
  }
}

/**
 * Up to `maxRecords` messages of `plan`'s segments from its position, in append order, and of at
 * most `maxBytes` of keys and values with their record overhead (a sender passes SPOOL_SEND_BYTES).
 */
export function readSpool(plan: SpoolReadPlan, maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): SpoolRead {
  // A segment is opened for each read and closed after it: a descriptor kept between reads would
  // outlive a sender thread ended while it waits for Kafka, and hold a deleted segment's space (an
  // open per batch is cheap). A thread ended during the read itself still leaves its one descriptor.
  const files = new SegmentFiles();
  try {
    return readFrom(plan, maxRecords, maxBytes, files);
  } finally {
    files.close();
  }
}

function readFrom(plan: SpoolReadPlan, maxRecords: number, maxBytes: number, files: SegmentFiles): SpoolRead {
  const { segments } = plan;
  const messages: SpoolMessage[] = [];
  let pos = plan.from;
  let exhausted = false;
  let corruptTails = 0;
  let corruptBytes = 0;
  let bytes = 0;
  let full = false;
  while (messages.length < maxRecords && !full) {
    const index = segments.findIndex((s) => s.seq === pos.seq);
    const segment = segments[index];
    if (!segment) {
      exhausted = true;
      break;
    }
    if (pos.offset >= segment.size) {
      const next = segments[index + 1];
      if (!next) {
        exhausted = true;
        break;
      }
      pos = { seq: next.seq, offset: 0 };
      continue;
    }
    const length = Math.min(segment.size - pos.offset, READ_CHUNK_BYTES);
    const chunk = Buffer.allocUnsafe(length);
    const got = readSync(files.fdFor(segment), chunk, 0, length, pos.offset);
    const decoded = decodeFrames(chunk.subarray(0, got), pos.offset, maxRecords - messages.length);
    if (decoded.records.length === 0) {
      // damaged since it was checked: the rest of the segment is skipped, counted
      corruptTails += 1;
      corruptBytes += segment.size - pos.offset;
      pos = { seq: segment.seq, offset: segment.size };
      continue;
    }
    let end = pos.offset + decoded.validBytes;
    for (const { offset, payload } of decoded.records) {
      let message: SpoolMessage;
      try {
        message = decodeSpoolMessage(payload);
      } catch {
        corruptTails += 1; // a checksummed record of an unknown layout: counted, skipped
        continue;
      }
      const size = Buffer.byteLength(message.key) + message.value.length + RECORD_FRAMING_BYTES;
      if (messages.length > 0 && bytes + size > maxBytes) {
        // the next read starts at this record's frame
        end = offset;
        full = true;
        break;
      }
      messages.push(message);
      bytes += size;
    }
    pos = { seq: segment.seq, offset: end };
  }
  return { messages, records: messages.length, end: pos, exhausted, corruptTails, corruptBytes };
}
