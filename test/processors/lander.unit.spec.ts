import { describe, expect, it } from 'vitest';
import { containerFile, encodeLandedRecord, landedRecordFromBody, readLandedFile } from '../../processors/lander/avro-file.js';
import { catalog } from '../../schemas/catalog.js';
import { EventCodec } from '../../schemas/codec.js';
import { blobName, cycleStartOf, oldestKeptBlobDate, parseBlobName } from '../../processors/lander/blob-names.js';
import { CycleBuffer, withoutExpired, withoutPurged } from '../../processors/lander/cycle-buffer.js';
import { isBlobExpired } from '../../retention/plan.js';
import { minPositions, passed } from '../../processors/lander/lander-acks.js';
import { backoffDelay } from '../../core/retry.js';
import { EMAIL_EVENT_TYPES } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';

describe('blob names', () => {
  it('are a function of org, date and the cycle start only', () => {
    const name = blobName({ orgId: 'org/1', date: '2026-01-05', topic: 'p.emails', partition: 3, cycleStart: 5000 });
    expect(name).toBe('org=org%2F1/date=2026-01-05/p.emails+3+5000.avro');
    expect(parseBlobName(name)).toEqual({ orgId: 'org/1', date: '2026-01-05', topic: 'p.emails', partition: 3, cycleStart: 5000 });
    expect([0, 4999, 5000, 12345].map((o) => cycleStartOf(o, 5000))).toEqual([0, 0, 5000, 10000]);
  });
});

describe('cycle buffer', () => {
  it('names every file of a cycle by its first offset and says when the next cycle starts', () => {
    const buffer = new CycleBuffer('p.emails', 0, 100);
    const e = fixture('EmailOpened', { occurredAt: Date.UTC(2026, 0, 5) });
    buffer.add(150, e, Buffer.from('a'));
    buffer.add(151);
    buffer.add(199, { ...e, orgId: 'org-2' }, Buffer.from('b'));
    expect(buffer.completes(199)).toBe(false);
    expect(buffer.completes(200)).toBe(true);
    const snap = buffer.snapshot();
    expect(snap.lastOffset).toBe(199);
    expect([...snap.files.keys()]).toEqual(['org=org-1/date=2026-01-05/p.emails+0+100.avro', 'org=org-2/date=2026-01-05/p.emails+0+100.avro']);
  });
});

describe('landed Avro files', () => {
  it('round-trip every email event type with its type, deterministically', async () => {
    const events = EMAIL_EVENT_TYPES.map((t) => fixture(t));
    const records = events.map((event, i) => encodeLandedRecord({ topic: 't.emails', partition: 1, offset: i, event }));
    const file = containerFile('x.avro', records);
    expect(containerFile('x.avro', records).equals(file)).toBe(true);
    const back = await readLandedFile(file);
    expect(back.map((r) => r.event.type)).toEqual([...EMAIL_EVENT_TYPES]);
    expect(back[0]).toMatchObject({ topic: 't.emails', partition: 1, offset: 0, event: { eventId: events[0]!.eventId } });
    expect(await readLandedFile(containerFile('empty.avro', []))).toEqual([]);
  });
});

describe('backoff', () => {
  it('grows exponentially and is capped', () => {
    expect(backoffDelay(0, { baseMs: 100, capMs: 1000 }, () => 1)).toBe(100);
    expect(backoffDelay(3, { baseMs: 100, capMs: 1000 }, () => 1)).toBe(800);
    expect(backoffDelay(20, { baseMs: 100, capMs: 1000 }, () => 1)).toBe(1000);
  });
});

describe('landed record from the original body', () => {
  it('is byte for byte the re-encoded record when the message was written with the current schema', async () => {
    const codec = new EventCodec();
    const records: Buffer[] = [];
    for (const [n, type] of EMAIL_EVENT_TYPES.entries()) {
      const event = fixture(type);
      for (const [partition, offset] of [[0, 0], [5, 63], [11, 64], [2, 2 ** 40 + n]] as const) {
        const body = codec.currentBody(codec.encode(event), type);
        expect(body).toBeDefined();
        const spliced = landedRecordFromBody('p.emails', partition, offset, type, body!);
        expect(spliced.equals(encodeLandedRecord({ topic: 'p.emails', partition, offset, event }))).toBe(true);
        records.push(spliced);
      }
    }
    expect((await readLandedFile(containerFile('x', records))).length).toBe(records.length);
  });

  it('is not offered for an older writer schema or another type', () => {
    const codec = new EventCodec();
    const opened = fixture('EmailOpened');
    const old = catalog.versions.get('EmailOpened')!.find((v) => v !== catalog.current.get('EmailOpened'))!;
    expect(codec.currentBody(codec.encodeWith(old, opened), 'EmailOpened')).toBeUndefined();
    expect(codec.currentBody(codec.encode(opened), 'LinkClicked')).toBeUndefined();
    expect(codec.currentBody(Buffer.from([0xc3, 0x01]), 'EmailOpened')).toBeUndefined();
  });
});

describe('an upload after a purge', () => {
  const day = Date.UTC(2026, 0, 5);
  const buffer = new CycleBuffer('p.emails', 0, 100);
  const gone = fixture('EmailOpened', { orgId: 'gone', occurredAt: day });
  const back = fixture('EmailOpened', { orgId: 'gone', occurredAt: day + 7_200_000 });
  const kept = fixture('EmailOpened', { orgId: 'kept', occurredAt: day });
  buffer.add(0, gone, Buffer.from('gone'));
  buffer.add(1, back, Buffer.from('back'));
  buffer.add(2, kept, Buffer.from('kept'));
  const snapshot = buffer.snapshot();

  it('gates a purged org\'s buffered records again and leaves other orgs untouched', () => {
    const purgedAt = day + 3_600_000;
    const after = withoutPurged(snapshot, (orgId) => orgId === 'gone', (event) => event.occurredAt > purgedAt);
    expect([...after.files.values()].flat().map(String)).toEqual(['back', 'kept']);
    expect(after.files.get('org=kept/date=2026-01-05/p.emails+0+0.avro')).toBe(snapshot.files.get('org=kept/date=2026-01-05/p.emails+0+0.avro'));
    // the purged org's files are written whole, never extended by a block (blob-writer.ts)
    expect([...(after.whole ?? [])]).toEqual([...after.files.keys()].filter((name) => name.startsWith('org=gone/')));
    expect(after.whole?.size).toBeGreaterThan(0);
    const none = withoutPurged(snapshot, (orgId) => orgId === 'gone', () => false);
    expect([...none.files.keys()]).toEqual(['org=kept/date=2026-01-05/p.emails+0+0.avro']);
    expect(withoutPurged(snapshot, () => false, () => false)).toBe(snapshot);
  });
});

describe('an upload of files past the landing-zone retention', () => {
  it('leaves out the files dated before the oldest date kept, and nothing else', () => {
    const buffer = new CycleBuffer('p.emails', 0, 100);
    const now = Date.UTC(2026, 1, 10, 12);
    buffer.add(0, fixture('EmailOpened', { orgId: 'a', occurredAt: now - 31 * 86_400_000 }), Buffer.from('old'));
    buffer.add(1, fixture('EmailOpened', { orgId: 'a', occurredAt: now - 30 * 86_400_000 }), Buffer.from('edge'));
    buffer.add(2, fixture('EmailOpened', { orgId: 'b', occurredAt: now }), Buffer.from('new'));
    const snapshot = buffer.snapshot();
    const oldest = oldestKeptBlobDate(now, 30);
    expect(oldest).toBe('2026-01-11');
    const kept = withoutExpired(snapshot, oldest);
    expect([...kept.files.keys()]).toEqual(['org=a/date=2026-01-11/p.emails+0+0.avro', 'org=b/date=2026-02-10/p.emails+0+0.avro']);
    expect([...kept.events.keys()]).toEqual([...kept.files.keys()]);
    // the retention's judgement of the same names agrees
    for (const name of snapshot.files.keys()) expect(isBlobExpired(name, now, 30)).toBe(!kept.files.has(name));
    expect(withoutExpired(snapshot, '2000-01-01')).toBe(snapshot);
  });
});

describe('lander purge acknowledgements', () => {
  it('report the smaller position of each partition, and pass a target only when every partition reaches it', () => {
    expect(minPositions(new Map([[0, 5], [1, 9]]), new Map([[0, 7], [1, 3]]))).toEqual(new Map([[0, 5], [1, 3]]));
    expect(minPositions(new Map([[0, 5]]), new Map())).toEqual(new Map());
    expect(passed(new Map([[0, 5], [1, 3]]), new Map([[0, 5]]))).toBe(true);
    expect(passed(new Map([[0, 4]]), new Map([[0, 5]]))).toBe(false);
    expect(passed(new Map(), new Map([[2, 1]]))).toBe(false);
  });
});
