import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatAcked } from '../../../producers/spool/acked.js';
import { SegmentSpool, type SpoolOptions } from '../../../producers/spool/segment-spool.js';
import { SpoolSink } from '../../../producers/spool/spool-sink.js';
import { EventCodec } from '../../../schemas/codec.js';
import { fixture } from '../../support/fixtures.js';
import { waitFor } from '../../support/env.js';

/** The spool on a real directory (no Kafka): append, read, ack, restart, torn tails, full. */
const dirs: string[] = [];
const open: SegmentSpool[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(overrides: Partial<SpoolOptions> = {}): SpoolOptions {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-'));
  dirs.push(dir);
  return { dir, maxBytes: 10_000_000, segmentBytes: 4096, fsyncMs: 5, ...overrides };
}

function openSpool(o: SpoolOptions): SegmentSpool {
  const spool = SegmentSpool.open(o);
  open.push(spool);
  return spool;
}

function reopen(spool: SegmentSpool, o: SpoolOptions): SegmentSpool {
  spool.close();
  open.splice(open.indexOf(spool), 1);
  return openSpool(o);
}

const message = (i: number) => ({ topic: 't.emails', key: `org/e${i % 7}`, timestamp: 1_000 + i, value: Buffer.from(`event-${i}-${'v'.repeat(60)}`) });
const values = (batch: { messages: Array<{ value: Buffer }> }) => batch.messages.map((m) => m.value.toString().split('-').slice(0, 2).join('-'));
const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

describe('SegmentSpool', () => {
  it('writes what one turn appends with one write at its end, and runs afterWrite callbacks only then', async () => {
    const o = options({ segmentBytes: 1_000_000 });
    const spool = openSpool(o);
    const bytes = (): number => segmentFiles(o.dir).reduce((sum, f) => sum + statSync(path.join(o.dir, f)).size, 0);
    const answered: number[] = [];
    spool.afterWrite(() => answered.push(-1)); // nothing appended: at once
    expect(answered).toEqual([-1]);
    for (let i = 0; i < 10; i++) {
      expect(spool.append(message(i))).toBe('spooled');
      spool.afterWrite(() => answered.push(bytes()));
    }
    expect(bytes()).toBe(0); // nothing written within the turn
    expect(answered).toEqual([-1]);
    expect(spool.stats().records).toBe(10); // accepted: counted waiting, and against SPOOL_MAX_BYTES
    await new Promise((resolve) => setImmediate(resolve));
    const written = bytes();
    expect(written).toBeGreaterThan(10 * 60);
    // every answer saw all ten records on disk
    expect(answered).toEqual([-1, ...Array.from({ length: 10 }, () => written)]);
    expect(values(spool.read(100))).toEqual(Array.from({ length: 10 }, (_, i) => `event-${i}`));
  });

  it('runs every afterWrite callback of a turn even when one throws, and reports it', async () => {
    const errors: unknown[] = [];
    const spool = openSpool(options({ onCallbackError: (error) => errors.push(error) }));
    const ran: number[] = [];
    for (let i = 0; i < 3; i++) {
      spool.append(message(i));
      spool.afterWrite(() => {
        if (i === 1) throw new Error('boom');
        ran.push(i);
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
  });

  it('writes a turn that appends more than a MiB in bounded writes, answering as it goes', () => {
    const o = options({ segmentBytes: 64 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024 });
    const spool = openSpool(o);
    const size = (): number => statSync(path.join(o.dir, segmentFiles(o.dir)[0]!)).size;
    const big = (i: number) => ({ ...message(i), value: Buffer.alloc(8_000, i % 256) });
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      spool.append(big(i));
      spool.afterWrite(() => answered++);
    }
    // 200 × 8 kB within one turn: written (and answered) in steps of about a MiB, not held to the end
    expect(size()).toBeGreaterThan(1_000_000);
    expect(answered).toBeGreaterThan(100);
    expect(spool.read(1000).messages).toHaveLength(200);
    expect(answered).toBe(200);
  });

  it('a write that fails (a full disk) loses the records of its turn, counted; the answers still go; later records land in a new segment', async () => {
    const lost: number[] = [];
    const o = options({ segmentBytes: 300, onWriteError: (records) => lost.push(records) });
    const spool = openSpool(o);
    spool.append(message(0));
    spool.append(message(1)); // 2 × ~110 bytes: the third frame starts segment 2
    await new Promise((resolve) => setImmediate(resolve));
    const [first] = segmentFiles(o.dir);
    const next = String(Number(first!.slice(0, 16)) + 1).padStart(16, '0');
    symlinkSync('/dev/full', path.join(o.dir, `${next}.seg`)); // segment 2 is on a full disk
    let answered = 0;
    for (let i = 2; i < 4; i++) {
      expect(spool.append(message(i))).toBe('spooled');
      spool.afterWrite(() => answered++);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lost).toEqual([2]);
    expect(answered).toBe(2); // a person still gets the pixel
    expect(spool.stats().records).toBe(2); // the lost ones are not waiting
    spool.append(message(4));
    await new Promise((resolve) => setImmediate(resolve));
    expect(values(spool.read(100))).toEqual(['event-0', 'event-1', 'event-4']);
  });

  it('close() writes what the turn appended: a restart finds it', () => {
    const o = options();
    let spool = openSpool(o);
    for (let i = 0; i < 5; i++) spool.append(message(i));
    spool = reopen(spool, o);
    expect(spool.recovery.records).toBe(5);
    expect(values(spool.read(100))).toEqual(Array.from({ length: 5 }, (_, i) => `event-${i}`));
  });

  it('a read writes what this turn appended first: nothing appended is invisible to the drainer', () => {
    const o = options({ segmentBytes: 1_000_000 });
    const spool = openSpool(o);
    for (let i = 0; i < 3; i++) spool.append(message(i));
    expect(values(spool.read(100))).toEqual(['event-0', 'event-1', 'event-2']);
  });

  it('gives records back in order across segments and deletes what is acknowledged', () => {
    const o = options();
    const spool = openSpool(o);
    for (let i = 0; i < 200; i++) expect(spool.append(message(i))).toBe('spooled');
    expect(segmentFiles(o.dir).length).toBeGreaterThan(2);
    const first = spool.read(150);
    expect(values(first)).toEqual(Array.from({ length: 150 }, (_, i) => `event-${i}`));
    spool.ack(first.end, 150, 1_149);
    expect(spool.stats().records).toBe(50);
    const rest = spool.read(1000);
    expect(values(rest)[0]).toBe('event-150');
    expect(rest.messages).toHaveLength(50);
    spool.ack(rest.end, 50, 1_199);
    expect(spool.stats()).toMatchObject({ records: 0, oldestAt: null, segments: 1 });
    expect(segmentFiles(o.dir)).toHaveLength(1);
  });

  it('goes on with the next segment when a read ended at the end of one that its acknowledgement deleted', () => {
    const spool = openSpool(options());
    // read everything before each append, until an append starts a second segment
    let read: ReturnType<SegmentSpool['read']>;
    let i = 0;
    do {
      read = spool.read(1000);
      spool.append(message(i++));
      spool.flush();
    } while (spool.stats().segments === 1);
    expect(read.end.offset).toBeGreaterThan(0);
    spool.ack(read.end, i - 1, null); // the first segment is wholly acknowledged: deleted
    expect(spool.stats().segments).toBe(1);
    expect(values(spool.read(100))).toEqual([`event-${i - 1}`]);
    expect(spool.unread).toBe(0);
  });

  it('after a restart, sends again exactly what was not acknowledged', () => {
    const o = options();
    let spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i));
    const sent = spool.read(40);
    spool.ack(sent.end, 40, 1_039);
    spool.read(30); // read but never acknowledged: Kafka did not answer before the crash
    spool = reopen(spool, o);
    expect(spool.recovery).toEqual({ records: 60, corruptTails: 0, corruptBytes: 0 });
    const again = spool.read(1000);
    expect(values(again)).toEqual(Array.from({ length: 60 }, (_, i) => `event-${i + 40}`));
    expect(spool.stats().oldestAt).toBe(1_040);
  });

  it('numbers new segments past an ACKED left by an earlier run whose segments are gone, so a restart keeps them', () => {
    // a run killed inside close() (segments deleted, ACKED not yet) leaves ACKED pointing at segment 7
    const o = options();
    writeFileSync(path.join(o.dir, 'ACKED'), formatAcked({ seq: 7, offset: 100 }));
    let spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i)); // Kafka down: nothing acknowledged
    spool.flush();
    expect(segmentFiles(o.dir).length).toBeGreaterThan(1);
    spool = reopen(spool, o);
    expect(spool.recovery).toEqual({ records: 100, corruptTails: 0, corruptBytes: 0 });
    expect(values(spool.read(1000))).toEqual(Array.from({ length: 100 }, (_, i) => `event-${i}`));
  });

  it('ignores and counts an ACKED naming a segment after every one present (a damaged file), sending everything again', () => {
    // found by a black-box check: "99999999999 99999999" written into ACKED deleted every unsent segment
    const o = options();
    let spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i)); // Kafka down: nothing acknowledged
    spool.close();
    open.splice(open.indexOf(spool), 1);
    // (in the layout of that day, before the checksums)
    writeFileSync(path.join(o.dir, 'ACKED'), `${'99999999999'.padStart(16, ' ')} ${'99999999'.padStart(16, ' ')}\n`);
    spool = openSpool(o);
    expect(spool.recovery).toMatchObject({ records: 100, corruptTails: 1, ackedIgnored: { seq: 99999999999, offset: 99999999 } });
    // and removed: left there, it would be trusted once new segments reach its number (a review found that)
    expect(readdirSync(o.dir)).not.toContain('ACKED');
    expect(values(spool.read(1000))).toEqual(Array.from({ length: 100 }, (_, i) => `event-${i}`));
  });

  /** 100 records over several segments, the first 10 acknowledged, the spool closed: its ACKED and the last segment's number (padded as in ACKED) */
  function closedWithTenAcknowledged(o: SpoolOptions): { acked: string; lastSeq: string } {
    const spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i));
    spool.flush();
    const segments = segmentFiles(o.dir);
    expect(segments.length).toBeGreaterThan(2);
    const first = spool.read(10);
    spool.ack(first.end, 10, 1_009);
    spool.close();
    open.splice(open.indexOf(spool), 1);
    const acked = readFileSync(path.join(o.dir, 'ACKED'), 'ascii');
    return { acked, lastSeq: String(Number(segments.at(-1)!.slice(0, -'.seg'.length))).padStart(16, ' ') };
  }

  it('distrusts an ACKED whose copies both fail their checksums though they name a segment still present, sending everything again', () => {
    const o = options();
    const { acked, lastSeq } = closedWithTenAcknowledged(o);
    // damaged digits: each copy now names the last segment, so every one before it would be deleted unsent
    const half = acked.length / 2;
    const damaged = `${lastSeq}${acked.slice(16, half)}${lastSeq}${acked.slice(half + 16)}`;
    expect(damaged).not.toBe(acked);
    writeFileSync(path.join(o.dir, 'ACKED'), damaged);
    const spool = openSpool(o);
    expect(spool.recovery).toMatchObject({ records: 100, corruptTails: 1, ackedIgnored: { reason: 'checksum mismatch' } });
    expect(readdirSync(o.dir)).not.toContain('ACKED');
    expect(values(spool.read(1000))).toEqual(Array.from({ length: 100 }, (_, i) => `event-${i}`));
  });

  it("keeps the previous run's ACKED on disk until this run acknowledges something", () => {
    const o = options();
    let spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i));
    const first = spool.read(10);
    spool.ack(first.end, 10, 1_009);
    spool = reopen(spool, o);
    const before = readFileSync(path.join(o.dir, 'ACKED'), 'ascii');
    // this run acknowledges nothing (Kafka down) before it stops: the position is still there
    spool.append(message(100));
    spool.flush();
    expect(readFileSync(path.join(o.dir, 'ACKED'), 'ascii')).toBe(before);
    spool = reopen(spool, o);
    expect(spool.recovery.records).toBe(91);
  });

  it('resumes from the other copy of ACKED when one is damaged: nothing lost, nothing acknowledged sent again', () => {
    const o = options();
    const { acked, lastSeq } = closedWithTenAcknowledged(o);
    writeFileSync(path.join(o.dir, 'ACKED'), `${lastSeq}${acked.slice(16)}`);
    const spool = openSpool(o);
    expect(spool.recovery).toEqual({ records: 90, corruptTails: 0, corruptBytes: 0 });
    expect(values(spool.read(1000))).toEqual(Array.from({ length: 90 }, (_, i) => `event-${i + 10}`));
  });

  it('writes an acknowledged position the 100 ms throttle held back without waiting for another acknowledgement', async () => {
    const o = options();
    const spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i));
    const first = spool.read(40);
    spool.ack(first.end, 40, 1_039);
    const second = spool.read(30);
    spool.ack(second.end, 30, 1_069); // within the throttle: held back
    const onDisk = () => readFileSync(path.join(o.dir, 'ACKED'), 'utf8').trim().split(/\s+/).slice(0, 2).map(Number);
    // a quiet instance gets no further acknowledgement: the held-back one still reaches the disk
    await waitFor(() => onDisk()[0] === second.end.seq && onDisk()[1] === second.end.offset, { timeoutMs: 2_000, message: 'ACKED at the second position' });
    expect(onDisk()).toEqual([second.end.seq, second.end.offset]);
  });

  it('waits for nothing once everything written is acknowledged, though a segment damaged since it was written lost records', () => {
    const o = options();
    const spool = openSpool(o);
    for (let i = 0; i < 100; i++) spool.append(message(i));
    spool.flush();
    const first = segmentFiles(o.dir)[0]!;
    // a disk error after the check on open: bytes of the first segment overwritten mid-record
    const fd = openSync(path.join(o.dir, first), 'r+');
    writeSync(fd, Buffer.alloc(16, 0xff), 0, 16, 200);
    closeSync(fd);
    const read = spool.read(1000);
    expect(read.messages.length).toBeLessThan(100);
    expect(spool.recovery.corruptTails).toBe(1);
    spool.ack(read.end, read.messages.length, read.messages.at(-1)!.timestamp);
    // not the skipped records waiting forever (the gauges, and close() keeping the files)
    expect(spool.stats()).toMatchObject({ records: 0, oldestAt: null });
  });

  it('still waits for a record of this turn not yet written when an acknowledgement reaches the end of what is', () => {
    const o = options();
    let spool = openSpool(o);
    for (let i = 0; i < 3; i++) spool.append(message(i));
    const read = spool.read(100);
    spool.append(message(3)); // answered, in this turn's buffer
    spool.ack(read.end, 3, read.messages.at(-1)!.timestamp);
    expect(spool.stats().records).toBe(1);
    // and a close keeps it for the next start
    spool = reopen(spool, o);
    expect(values(spool.read(100))).toEqual(['event-3']);
  });

  it('skips and counts a last segment truncated mid-record, and keeps every whole record before it', () => {
    const o = options({ segmentBytes: 1_000_000 });
    let spool = openSpool(o);
    for (let i = 0; i < 20; i++) spool.append(message(i));
    spool.flush(); // what the end of this turn would write
    const [file] = segmentFiles(o.dir);
    const full = statSync(path.join(o.dir, file!)).size;
    spool.close();
    open.splice(0);
    truncateSync(path.join(o.dir, file!), full - 25); // the last record is cut
    spool = openSpool(o);
    expect(spool.recovery.corruptTails).toBe(1);
    expect(spool.recovery.corruptBytes).toBeGreaterThan(0);
    expect(spool.recovery.records).toBe(19);
    const batch = spool.read(1000);
    expect(values(batch)).toEqual(Array.from({ length: 19 }, (_, i) => `event-${i}`));
    // the cut tail is gone from the file: new records follow whole ones
    expect(spool.append(message(99))).toBe('spooled');
    expect(values(spool.read(10))).toEqual(['event-99']);
  });

  it('refuses new records when full, keeps the spooled ones, and takes records again once drained', () => {
    const o = options({ maxBytes: 1_048_576, segmentBytes: 65_536 });
    const spool = openSpool(o);
    const big = (i: number) => ({ ...message(i), value: Buffer.alloc(10_000, i % 256) });
    let spooled = 0;
    let full = 0;
    for (let i = 0; i < 200; i++) {
      const outcome = spool.append(big(i));
      if (outcome === 'spooled') spooled++;
      else if (outcome === 'full') full++;
    }
    expect(full).toBeGreaterThan(0);
    expect(spool.stats().bytes).toBeLessThanOrEqual(o.maxBytes);
    expect(spool.stats().records).toBe(spooled);
    expect(spool.hasRoom(10_100)).toBe(false);
    const batch = spool.read(10_000);
    expect(batch.messages).toHaveLength(spooled);
    spool.ack(batch.end, spooled, null);
    expect(spool.append(big(1))).toBe('spooled');
  });

  it('with SPOOL_MAX_BYTES under the segment size, records Kafka has do not keep it full: it takes records again, and again', () => {
    // one segment never reaches its size before the spool is full: it must not hold acknowledged bytes for good
    const o = options({ maxBytes: 1_048_576, segmentBytes: 16 * 1_048_576 });
    const spool = openSpool(o);
    const big = (i: number) => ({ ...message(i), value: Buffer.alloc(10_000, i % 256) });
    for (let round = 0; round < 3; round++) {
      let spooled = 0;
      for (let i = 0; i < 200; i++) if (spool.append(big(i)) === 'spooled') spooled++;
      expect(spooled).toBeGreaterThan(90); // ~1 MiB of 10 kB records, each round
      const batch = spool.read(10_000);
      expect(batch.messages).toHaveLength(spooled);
      spool.ack(batch.end, spooled, null);
      expect(spool.stats()).toMatchObject({ records: 0, oldestAt: null });
      expect(spool.stats().bytes).toBeLessThan(o.maxBytes / 4);
    }
  });

  it('with SPOOL_MAX_BYTES under the segment size and records arriving during every send, what Kafka has leaves the count', () => {
    // a drainer that never reaches the end: each batch is acknowledged while new records wait
    const o = options({ maxBytes: 1_048_576, segmentBytes: 16 * 1_048_576 });
    const spool = openSpool(o);
    const rec = (i: number) => ({ ...message(i), value: Buffer.alloc(1_000, i % 256) });
    let refused = 0;
    let next = 0;
    const append = (n: number): void => {
      for (let i = 0; i < n; i++) if (spool.append(rec(next++)) !== 'spooled') refused++;
    };
    append(5);
    for (let round = 0; round < 100; round++) {
      append(45);
      const batch = spool.read(1_000);
      append(5); // arrived while the batch was being sent: the acknowledgement is never at the end
      spool.ack(batch.end, batch.messages.length, null);
    }
    // 5 MB went through a 1 MiB spool, with at most 55 records (~58 kB) unacknowledged at any time
    expect(refused).toBe(0);
    expect(spool.stats().records).toBe(5);
    expect(spool.stats().bytes).toBeLessThan(o.maxBytes / 4);
  });

  it('bytes Kafka has leave the count once everything is acknowledged, whatever the segment size', async () => {
    const o = options({ segmentBytes: 1_000_000 });
    const spool = openSpool(o);
    for (let i = 0; i < 2_000; i++) spool.append(message(i));
    await new Promise((resolve) => setImmediate(resolve));
    const batch = spool.read(10_000);
    spool.ack(batch.end, batch.messages.length, null);
    expect(spool.stats()).toMatchObject({ records: 0, bytes: 0 });
    expect(spool.append(message(1))).toBe('spooled');
    expect(values(spool.read(10))).toEqual(['event-1']);
  });

  it('holds what the sink appends as the producer would send it: topic, key, timestamp, single-object value', () => {
    const spool = openSpool(options());
    const codec = new EventCodec();
    const topics = { control: 't.control', emails: 't.emails', deadletter: 't.deadletter', keys: 't.keys' };
    const sink = new SpoolSink(spool, topics, codec);
    const open = fixture('EmailOpened', { orgId: 'org-é', emailId: 'e:1', userAgent: 'ü'.repeat(300) });
    const click = fixture('LinkClicked', {});
    expect(sink.append(open)).toBe('spooled');
    expect(sink.append(click)).toBe('spooled');
    const [first, second] = spool.read(10).messages;
    expect({ ...first!, value: codec.decode(first!.value) }).toEqual({ topic: 't.emails', key: 'org-é/e:1', timestamp: open.occurredAt, value: open });
    expect(first!.value.equals(codec.encode(open))).toBe(true);
    expect(codec.decode(second!.value)).toEqual(click);
    expect(sink.append({ ...click, linkId: 42 } as never)).toBe('invalid');
  });

  it('refuses a directory another live process holds', () => {
    const o = options();
    openSpool(o);
    // the lock names this pid, so pretend to be another process by writing the parent's pid
    const lockOwner = process.ppid;
    rmSync(path.join(o.dir, 'LOCK'));
    writeFileSync(path.join(o.dir, 'LOCK'), `${lockOwner}\n`);
    expect(() => SegmentSpool.open(o)).toThrow(/in use by process/);
  });
});
