/**
 * A durable local spool: append-only segment files `<seq>.seg` of checksummed frames (frame.ts)
 * under one directory, owned by one process (a `LOCK` file with its pid).
 *
 * Durability window: the frames appended in one turn of the event loop are written with one
 * write(2) at the end of that turn (setImmediate), and `afterWrite` runs its callbacks only then:
 * the API answers a tracking request after its record is written, so a record the API has
 * answered for survives a crash or kill -9 of the process (it is in the kernel's page cache). A
 * write(2) per request was ~9% of the pixel's CPU (bench/RESULTS.md); under load one turn carries
 * many requests. A group commit fdatasyncs the active segment every `fsyncMs` (SPOOL_FSYNC_MS)
 * when something was written, so a power loss or kernel crash loses at most the records of the
 * last `fsyncMs` (plus the time the fdatasync takes). No request waits for a disk flush.
 *
 * Reading (the drainer) follows the write position; `ack` moves the acknowledged position, which
 * is kept in the `ACKED` file (twice, each copy with its CRC32: ./acked.ts), and deletes every segment wholly acknowledged.
 * After a restart everything after `ACKED` is sent again (at least once: the projector counts an
 * eventId once). On open every segment is checked: a torn or corrupt tail is cut off the file,
 * counted in `recovery`, and reading goes on with the next segment; never a crash.
 *
 * Full policy: when the segments would exceed `maxBytes` (SPOOL_MAX_BYTES), `append` refuses the
 * new record ('full', the caller counts it): what is already spooled is never evicted, and the
 * person still gets the pixel or the redirect.
 */
import { closeSync, constants, existsSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync, writeFileSync, writeSync, close } from 'node:fs';
import path from 'node:path';
import { EngagementError } from '../../core/errors.js';
import { formatAcked, parseAcked } from './acked.js';
import { decodeFrames, encodeFrame } from './frame.js';
import { readSpool, type SpoolPosition, type SpoolReadPlan, type SpoolReadResult } from './segment-reader.js';
import { decodeSpoolMessage, encodeSpoolMessage, type SpoolMessage } from './spool-message.js';

export interface SpoolOptions {
  dir: string;
  /** SPOOL_MAX_BYTES: the segments on disk never exceed it */
  maxBytes: number;
  /** a new segment starts once the active one would pass this size */
  segmentBytes: number;
  /** SPOOL_FSYNC_MS: group-commit period */
  fsyncMs: number;
  /** told about a failed fdatasync (the records stay in the page cache and the next commit retries) */
  onSyncError?: (error: Error) => void;
  /** told about a failed write(2): `records` appended records are lost */
  onWriteError?: (records: number, error: Error) => void;
  /** told about an `afterWrite` callback that threw (the others of its turn still run) */
  onCallbackError?: (error: unknown) => void;
}

export type AppendOutcome = 'spooled' | 'full' | 'failed';

export interface SpoolBatch {
  messages: SpoolMessage[];
  /** where the batch ends: pass it to `ack` once Kafka has acknowledged every message */
  end: SpoolPosition;
}

export interface SpoolRecovery {
  /** records found waiting on open (not acknowledged before the restart) */
  records: number;
  /** segments whose tail was torn or corrupt, and an ACKED file that cannot be right (ackedIgnored) */
  corruptTails: number;
  /** ACKED could not be right (damaged, or naming a segment after every one present): ignored, everything present sent again */
  ackedIgnored?: { reason: string; seq?: number; offset?: number };
  /** bytes cut off those tails */
  corruptBytes: number;
}

export interface SpoolStats {
  bytes: number;
  records: number;
  /** epoch ms of the oldest record not yet acknowledged (to a drain batch), null when empty */
  oldestAt: number | null;
  segments: number;
}

interface Segment {
  seq: number;
  file: string;
  size: number;
  records: number;
}

const SEGMENT_SUFFIX = '.seg';
/** a turn's frames are written once they reach this, whatever the turn still appends */
const PENDING_FLUSH_BYTES = 1 << 20;
const PENDING_INITIAL_BYTES = 64 * 1024;
const ACKED_EVERY_MS = 100;
/** the smallest segment a small SPOOL_MAX_BYTES makes (SPOOL_SEGMENT_BYTES itself is at least this) */
const MIN_SEGMENT_BYTES = 64 * 1024;

export class SegmentSpool {
  readonly recovery: SpoolRecovery = { records: 0, corruptTails: 0, corruptBytes: 0 };
  private readonly segments: Segment[] = [];
  /**
   * A new segment starts past this: SPOOL_SEGMENT_BYTES, or a 16th of SPOOL_MAX_BYTES when that is
   * smaller (64 KiB at least), so what Kafka has leaves the disk, and the count, segment by
   * segment while traffic flows: a segment as large as the limit would hold acknowledged bytes
   * until the spool is full.
   */
  private readonly segmentBytes: number;
  /** an active segment Kafka wholly has is replaced once it holds this much (a 16th of segmentBytes, 64 KiB at least: not a file every few records) */
  private readonly retireBytes: number;
  private active!: Segment;
  private fd = -1;
  private readPos: SpoolPosition = { seq: 0, offset: 0 };
  private bytes = 0;
  private waiting = 0;
  private unreadRecords = 0;
  /** records written since open (plans remember it, to tell what was written after them) */
  private writtenRecords = 0;
  private oldestAt: number | null = null;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private ackedFd: number | undefined;
  private ackedWrittenAt = 0;
  private ackedPending: SpoolPosition | undefined;
  /** frames appended in this turn, written together at its end (flush) */
  private pending = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
  private pendingBytes = 0;
  private pendingRecords = 0;
  private flushScheduled = false;
  private afterFlush: Array<() => void> = [];

  private constructor(private readonly options: SpoolOptions) {
    this.segmentBytes = Math.min(options.segmentBytes, Math.max(MIN_SEGMENT_BYTES, Math.floor(options.maxBytes / 16)));
    this.retireBytes = Math.min(this.segmentBytes, Math.max(MIN_SEGMENT_BYTES, Math.floor(this.segmentBytes / 16)));
  }

  /** Opens (creating) the spool directory, takes its lock and recovers what a previous run left. */
  static open(options: SpoolOptions): SegmentSpool {
    const spool = new SegmentSpool(options);
    spool.lock();
    spool.recover();
    spool.timer = setInterval(() => spool.tick(), options.fsyncMs);
    spool.timer.unref();
    return spool;
  }

  /** Appends one message (written at the end of this turn, no fsync). Never throws: 'full' and 'failed' are for the caller to count. */
  append(message: SpoolMessage): AppendOutcome {
    return this.appendFrame(encodeFrame(encodeSpoolMessage(message)), message.timestamp);
  }

  /**
   * Appends one whole frame (frame.ts) holding a spool message stamped `timestamp`; see `append`.
   * The frame is copied: the caller may reuse its buffer at once. 'failed': the spool is closed,
   * or the write of the frames before this one in the turn failed (they are lost, counted by
   * `onWriteError`).
   */
  appendFrame(frame: Buffer, timestamp: number): AppendOutcome {
    if (this.closed) return 'failed';
    if (this.bytes + frame.length > this.options.maxBytes) return 'full';
    // a segment holds whole frames: what this turn wrote so far goes to the segment it fits in
    if (this.active.size + this.pendingBytes > 0 && this.active.size + this.pendingBytes + frame.length > this.segmentBytes) {
      if (!this.flush()) return 'failed';
      try {
        this.rotate();
      } catch {
        return 'failed';
      }
    }
    if (this.pendingBytes + frame.length > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.pending.length, this.pendingBytes + frame.length));
      this.pending.copy(grown, 0, 0, this.pendingBytes);
      this.pending = grown;
    }
    frame.copy(this.pending, this.pendingBytes);
    this.pendingBytes += frame.length;
    this.pendingRecords += 1;
    this.bytes += frame.length;
    this.waiting += 1;
    if (this.oldestAt === null) this.oldestAt = timestamp;
    // a long turn's frames go out in bounded writes (and their answers with them)
    if (this.pendingBytes >= PENDING_FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushTurn);
    }
    return 'spooled';
  }

  /**
   * Runs `then` once what was appended so far is written (at the end of this turn), or at once
   * when nothing is waiting to be written. Whether the write succeeded does not matter to it.
   */
  afterWrite(then: () => void): void {
    if (this.pendingRecords === 0) then();
    else this.afterFlush.push(then);
  }

  /** Writes what this turn appended now (the end-of-turn write, or before a read or a rotation). False when the write failed. */
  flush(): boolean {
    let ok = true;
    if (this.pendingBytes > 0) {
      const records = this.pendingRecords;
      try {
        let written = 0;
        while (written < this.pendingBytes) written += writeSync(this.fd, this.pending, written, this.pendingBytes - written);
        this.active.size += this.pendingBytes;
        this.active.records += records;
        this.unreadRecords += records;
        this.writtenRecords += records;
        this.dirty = true;
      } catch (error) {
        ok = false;
        // Not written: those records are lost. The file may hold part of them: the next frames go
        // to a new segment, so none follows a torn one (reads stop at the written size, and a
        // restart cuts the torn tail off this segment).
        this.bytes -= this.pendingBytes;
        this.waiting -= records;
        if (this.waiting === 0) this.oldestAt = null;
        try {
          ftruncateSync(this.fd, this.active.size);
        } catch {
          try {
            this.rotate();
          } catch {
            // no new segment either: the next write fails too, and is counted
          }
        }
        this.options.onWriteError?.(records, error as Error);
      }
      this.pendingBytes = 0;
      this.pendingRecords = 0;
      if (this.pending.length > PENDING_FLUSH_BYTES) this.pending = Buffer.allocUnsafe(PENDING_INITIAL_BYTES);
      if (ok) this.wake?.();
    }
    const callbacks = this.afterFlush;
    if (callbacks.length > 0) {
      this.afterFlush = [];
      // one callback that throws must not leave the others' requests unanswered
      for (const then of callbacks) {
        try {
          then();
        } catch (error) {
          this.options.onCallbackError?.(error);
        }
      }
    }
    return ok;
  }

  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Up to `maxRecords` messages after the read position (which moves past them), in append order. */
  read(maxRecords: number): SpoolBatch {
    const plan = this.plan();
    const read = readSpool(plan, maxRecords);
    this.advance(plan, read);
    return { messages: read.messages, end: read.end };
  }

  /**
   * What a reader elsewhere (the sender thread) reads next: the read position and the segments from
   * it on with their written sizes (what this turn appended is written first). `advance` with its
   * result once it is read; until then the position stays, so a failed send reads it again.
   */
  plan(): SpoolReadPlan {
    this.flush();
    // A read that ended at the very end of a segment leaves the position there; an acknowledgement
    // may since have deleted that segment (a later one had started): go on at the next one.
    const at = this.segments.findIndex((s) => s.seq >= this.readPos.seq);
    const first = this.segments[at];
    if (first && first.seq > this.readPos.seq) this.readPos = { seq: first.seq, offset: 0 };
    const segments = (at < 0 ? [] : this.segments.slice(at)).map(({ seq, file, size }) => ({ seq, file, size }));
    return { from: { ...this.readPos }, segments, written: this.writtenRecords };
  }

  /** Moves the read position past what a reader read of `plan`, and counts what it skipped as damaged. */
  advance(plan: SpoolReadPlan, read: SpoolReadResult): void {
    this.recovery.corruptTails += read.corruptTails;
    this.recovery.corruptBytes += read.corruptBytes;
    this.readPos = { ...read.end };
    // At the end of the plan nothing it covered is unread, whatever a skipped damaged tail held:
    // what is unread is what was written since.
    const since = this.writtenRecords - plan.written;
    this.unreadRecords = read.exhausted ? since : Math.max(since, this.unreadRecords - read.records);
  }

  /** Everything up to `end` is in Kafka: remember it and delete the segments wholly behind it. */
  ack(end: SpoolPosition, records: number, lastTimestamp: number | null): void {
    // At the end of everything written and handed out, nothing waits, whatever a damaged segment
    // skipped on the way held (its records were never sent, so never counted off here).
    // (Records of this turn not yet written count as waiting, not in `active.size`.)
    const atEnd = end.seq === this.active.seq && end.offset === this.active.size && this.unreadRecords === 0 && this.pendingRecords === 0;
    this.waiting = atEnd ? 0 : Math.max(0, this.waiting - records);
    this.oldestAt = this.waiting === 0 ? null : (lastTimestamp ?? this.oldestAt);
    this.writeAcked(end);
    // Kafka has the whole active segment: start a new one, so the loop below deletes it, once it
    // is worth a file; a quiet spool would otherwise keep acknowledged bytes on disk, counted
    // against SPOOL_MAX_BYTES, until the segment filled.
    // (Not while a group commit is on its descriptor: a later acknowledgement does it.)
    if (atEnd && this.active.size >= this.retireBytes && !this.syncing) this.retireActive();
    while (this.segments.length > 1) {
      const head = this.segments[0]!;
      if (head.seq > end.seq || (head.seq === end.seq && end.offset < head.size)) break;
      this.segments.shift();
      this.bytes -= head.size;
      try {
        unlinkSync(head.file);
      } catch {
        // already gone
      }
    }
  }

  /**
   * The acknowledged position, overwritten in place (fixed width, one pwrite on an open file) at
   * most every ACKED_EVERY_MS: a stale one only makes a restart re-send a little more.
   */
  private writeAcked(end: SpoolPosition, force = false): void {
    this.ackedPending = end;
    const now = Date.now();
    if (!force && now - this.ackedWrittenAt < ACKED_EVERY_MS) return;
    this.ackedWrittenAt = now;
    try {
      // not truncated on open: the previous run's position stays on disk until this one overwrites it in place
      this.ackedFd ??= openSync(path.join(this.options.dir, 'ACKED'), constants.O_WRONLY | constants.O_CREAT);
      writeSync(this.ackedFd, formatAcked(end), 0, 'ascii');
      this.ackedPending = undefined;
    } catch {
      // the next ack writes it again; meanwhile a restart re-sends more (at least once)
    }
  }

  /** Resolves at the next append (or close); the drainer waits on it when it has read everything. */
  waitForData(): Promise<void> {
    if (this.unreadRecords > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Lets a reader blocked in `waitForData` go (the drainer stopping). */
  wakeUp(): void {
    this.wake?.();
  }

  /** records appended and not yet handed to a reader */
  get unread(): number {
    return this.unreadRecords;
  }

  stats(): SpoolStats {
    return { bytes: this.bytes, records: this.waiting, oldestAt: this.oldestAt, segments: this.segments.length };
  }

  /** True while another record of `bytes` could be appended. */
  hasRoom(bytes = 1024): boolean {
    return this.bytes + bytes <= this.options.maxBytes;
  }

  /** Flushes the active segment to disk and releases the directory. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.timer);
    this.wake?.();
    try {
      fdatasyncSync(this.fd);
    } catch {
      // nothing more to do: the data is in the page cache
    }
    if (this.ackedPending) this.writeAcked(this.ackedPending, true);
    if (this.ackedFd !== undefined) closeSync(this.ackedFd);
    closeSync(this.fd);
    // Nothing waiting: leave no files behind (only ours; the directory goes only if then empty).
    // ACKED first: killed half-way, what is left is segments without ACKED (sent again, and counted
    // once by eventId), never an ACKED that outlives its segments.
    const empty = this.waiting === 0;
    const ours = empty ? [path.join(this.options.dir, 'ACKED'), ...this.segments.map((s) => s.file)] : [];
    for (const file of [...ours, this.lockFile()]) {
      try {
        unlinkSync(file);
      } catch {
        // gone already
      }
    }
    if (empty) {
      try {
        rmdirSync(this.options.dir);
      } catch {
        // not empty (someone else's files) or gone: leave it
      }
    }
  }

  /**
   * The group commit, and an acknowledged position the throttle held back: written once due, not at
   * the next acknowledgement, which a quiet instance may not see for days (past the projector's
   * 8-day de-duplication window, where a re-sent record would count twice).
   */
  private tick(): void {
    this.commit();
    if (this.ackedPending && Date.now() - this.ackedWrittenAt >= ACKED_EVERY_MS) this.writeAcked(this.ackedPending);
  }

  private commit(): void {
    if (!this.dirty || this.syncing || this.closed) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (error) {
        this.dirty = true;
        this.options.onSyncError?.(error);
      }
    });
  }

  private rotate(): void {
    const old = this.fd;
    // opened first: should that fail, the active segment and its descriptor stay as they were
    this.openActive(this.active.seq + 1);
    this.dirty = false;
    // the sealed segment's last records reach the disk in the background, as a group commit would
    fdatasync(old, () => close(old, () => undefined));
  }

  /** A new active segment in place of one Kafka wholly has (deleted by the caller): nothing of it to bring to disk. */
  private retireActive(): void {
    const old = this.fd;
    try {
      this.openActive(this.active.seq + 1);
    } catch {
      return; // no new file: the acknowledged bytes stay until a later acknowledgement tries again
    }
    this.dirty = false;
    close(old, () => undefined);
  }

  private openActive(seq: number): void {
    const file = path.join(this.options.dir, `${String(seq).padStart(16, '0')}${SEGMENT_SUFFIX}`);
    this.fd = openSync(file, 'a');
    this.active = { seq, file, size: 0, records: 0 };
    this.segments.push(this.active);
  }

  private lockFile(): string {
    return path.join(this.options.dir, 'LOCK');
  }

  private lock(): void {
    mkdirSync(this.options.dir, { recursive: true });
    const file = this.lockFile();
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new EngagementError(
          'config_invalid',
          `SPOOL_DIR ${this.options.dir} is in use by process ${pid}: give every API instance its own SPOOL_DIR`,
        );
      }
    }
    writeFileSync(file, `${process.pid}\n`);
  }

  /** Checks every segment left by a previous run, cuts torn tails, and starts a new active segment. */
  private recover(): void {
    const read = this.readAcked();
    let acked = 'position' in read ? read.position : undefined;
    if ('damaged' in read) this.ignoreAcked({ reason: read.damaged });
    const seqs = readdirSync(this.options.dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX) && /^\d+$/.test(f.slice(0, -SEGMENT_SUFFIX.length)))
      .map((f) => Number(f.slice(0, -SEGMENT_SUFFIX.length)))
      .sort((a, b) => a - b);
    if (acked && seqs.length > 0 && acked.seq > seqs[seqs.length - 1]!) {
      // Segments are deleted oldest first, so ACKED never names a segment after every one still
      // here: a damaged file would make them all look acknowledged and delete them unsent. It is
      // ignored instead (everything present is sent again; eventIds make that harmless) and counted.
      this.ignoreAcked({ reason: 'names a segment after every one present', ...acked });
      acked = undefined;
    }
    let maxSeq = 0;
    let first: SpoolPosition | undefined;
    for (const seq of seqs) {
      maxSeq = Math.max(maxSeq, seq);
      const file = path.join(this.options.dir, `${String(seq).padStart(16, '0')}${SEGMENT_SUFFIX}`);
      if (acked && seq < acked.seq) {
        unlinkSync(file);
        continue;
      }
      const buffer = readFileSync(file);
      const decoded = decodeFrames(buffer);
      if (decoded.corruptBytes > 0) {
        this.recovery.corruptTails += 1;
        this.recovery.corruptBytes += decoded.corruptBytes;
        const fd = openSync(file, 'r+');
        ftruncateSync(fd, decoded.validBytes);
        fdatasyncSync(fd);
        closeSync(fd);
      }
      // Resume inside the acknowledged segment only at a frame boundary; otherwise re-send it whole.
      const resumable = acked?.seq === seq && (acked.offset === decoded.validBytes || decoded.records.some((r) => r.offset === acked.offset));
      const startsAt = resumable ? acked!.offset : 0;
      const pending = decoded.records.filter((r) => r.offset >= startsAt);
      if (pending.length === 0) {
        unlinkSync(file);
        continue;
      }
      if (first === undefined) first = { seq, offset: startsAt };
      if (this.oldestAt === null && pending[0]) this.oldestAt = timestampOf(pending[0].payload);
      this.segments.push({ seq, file, size: decoded.validBytes, records: decoded.records.length });
      this.bytes += decoded.validBytes;
      this.waiting += pending.length;
    }
    this.unreadRecords = this.waiting;
    this.recovery.records = this.waiting;
    // Past ACKED's segment too: an ACKED whose segments are gone (a run killed in close(), or here
    // after the deletes above) would otherwise take the new run's first segments for acknowledged.
    this.openActive(Math.max(maxSeq, acked?.seq ?? 0) + 1);
    this.readPos = first ?? { seq: this.active.seq, offset: 0 };
  }

  private readAcked(): { position: SpoolPosition } | { damaged: string } | { none: true } {
    let text: string;
    try {
      text = readFileSync(path.join(this.options.dir, 'ACKED'), 'ascii');
    } catch {
      // none yet, or unreadable: re-send everything (at least once)
      return { none: true };
    }
    // empty: killed between creating the file and its first write
    return text.trim() === '' ? { none: true } : parseAcked(text);
  }

  /** Counted with the corrupt tails, and removed: left there, it would be trusted once new segments reach its number. */
  private ignoreAcked(ignored: NonNullable<SpoolRecovery['ackedIgnored']>): void {
    this.recovery.ackedIgnored = ignored;
    this.recovery.corruptTails += 1;
    const file = path.join(this.options.dir, 'ACKED');
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      // emptied at least (an empty ACKED reads as none); if not even that, the start fails as any unusable SPOOL_DIR
      writeFileSync(file, '');
    }
  }
}

function timestampOf(payload: Buffer): number | null {
  try {
    return decodeSpoolMessage(payload).timestamp;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bytes a directory's segments take (for tests and `stack status`-like checks). */
export function spoolBytesOnDisk(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.endsWith(SEGMENT_SUFFIX))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}
