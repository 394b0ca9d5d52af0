import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeKeySnapshot, encodeKeySnapshot, KEY_SNAPSHOT_MAX_AGE_MS, KeySnapshot } from '../../../core/keys/key-snapshot.js';

const TOPIC = 'engagement.keys';
const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'key-snapshot-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const records = new Map([
  ['org-a', [Buffer.from('first record of a'), Buffer.from('second record of a')]],
  ['org-b', [Buffer.from([0, 1, 2, 255])]],
]);

describe('key snapshot (the local copy of the keys topic)', () => {
  it('gives back every org its records in topic order, byte for byte', () => {
    const reading = decodeKeySnapshot(encodeKeySnapshot(records, 1_000, TOPIC), 2_000, TOPIC);
    expect(reading).toEqual({ records, confirmedAt: 1_000 });
  });

  it('is unusable once not confirmed against the topic for the shredding bound', () => {
    const text = encodeKeySnapshot(records, 1_000, TOPIC);
    expect('records' in decodeKeySnapshot(text, 1_000 + KEY_SNAPSHOT_MAX_AGE_MS, TOPIC)).toBe(true);
    expect(decodeKeySnapshot(text, 1_001 + KEY_SNAPSHOT_MAX_AGE_MS, TOPIC)).toMatchObject({ unusable: 'expired' });
  });

  it('does not trust a stamp from the future (a clock set back would stretch the bound)', () => {
    const text = encodeKeySnapshot(records, 10 * 60_000, TOPIC);
    expect('records' in decodeKeySnapshot(text, 9 * 60_000, TOPIC)).toBe(true);
    expect(decodeKeySnapshot(text, 60_000, TOPIC)).toMatchObject({ unusable: 'expired' });
  });

  it('is unusable for another keys topic (a SPOOL_DIR reused with another TOPIC_PREFIX)', () => {
    expect(decodeKeySnapshot(encodeKeySnapshot(records, 1_000, 'other.keys'), 2_000, TOPIC)).toMatchObject({ unusable: 'other_topic' });
  });

  it('says malformed for a torn or foreign file instead of throwing', () => {
    expect(decodeKeySnapshot('{"format":1,"topic":"engagement.keys","confirmedAt":5,"or', 6, TOPIC)).toMatchObject({ unusable: 'malformed' });
    expect(decodeKeySnapshot('{"format":2,"topic":"engagement.keys","confirmedAt":5,"orgs":{}}', 6, TOPIC)).toMatchObject({ unusable: 'malformed' });
    expect(decodeKeySnapshot('{"format":1,"topic":"engagement.keys","confirmedAt":5,"orgs":{"o":[1]}}', 6, TOPIC)).toMatchObject({ unusable: 'malformed' });
  });

  it('writes the file atomically, readable only by its owner, and reads it back', () => {
    const snapshot = new KeySnapshot(path.join(dir(), 'spool'));
    expect(snapshot.read(Date.now(), TOPIC)).toEqual({ unusable: 'missing' });
    snapshot.write(records, Date.now(), TOPIC);
    expect(statSync(snapshot.file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${snapshot.file}.tmp`)).toBe(false);
    const reading = snapshot.read(Date.now(), TOPIC);
    expect('records' in reading && reading.records).toEqual(records);
    snapshot.write(new Map([['org-b', records.get('org-b')!]]), Date.now(), TOPIC);
    const again = snapshot.read(Date.now(), TOPIC);
    expect('records' in again && [...again.records.keys()]).toEqual(['org-b']);
  });

  it('deletes an expired or malformed copy when it reads it', () => {
    const snapshot = new KeySnapshot(dir());
    snapshot.write(records, Date.now() - KEY_SNAPSHOT_MAX_AGE_MS - 1, TOPIC);
    expect(snapshot.read(Date.now(), TOPIC)).toMatchObject({ unusable: 'expired' });
    expect(existsSync(snapshot.file)).toBe(false);
    writeFileSync(snapshot.file, 'not json');
    expect(snapshot.read(Date.now(), TOPIC)).toMatchObject({ unusable: 'malformed' });
    expect(existsSync(snapshot.file)).toBe(false);
  });

  it('says unreadable, without throwing, when the file cannot be read', () => {
    const snapshot = new KeySnapshot(dir());
    mkdirSync(snapshot.file); // EISDIR
    expect(snapshot.read(Date.now(), TOPIC)).toMatchObject({ unusable: 'unreadable' });
  });

  it('stores the topic records as they are, base64 (each data key in them is wrapped)', () => {
    const snapshot = new KeySnapshot(dir());
    snapshot.write(records, Date.now(), TOPIC);
    const text = readFileSync(snapshot.file, 'utf8');
    expect(text).not.toContain('first record of a');
    expect(text).toContain(Buffer.from('first record of a').toString('base64'));
  });
});
