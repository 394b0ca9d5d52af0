import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeKeySnapshot, encodeKeySnapshot, KEY_SNAPSHOT_MAX_AGE_MS, KeySnapshot } from '../../../core/keys/key-snapshot.js';

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
    const reading = decodeKeySnapshot(encodeKeySnapshot(records, 1_000), 2_000);
    expect(reading).toEqual({ records, confirmedAt: 1_000 });
  });

  it('is unusable once not confirmed against the topic for the shredding bound', () => {
    const text = encodeKeySnapshot(records, 1_000);
    expect('records' in decodeKeySnapshot(text, 1_000 + KEY_SNAPSHOT_MAX_AGE_MS)).toBe(true);
    expect(decodeKeySnapshot(text, 1_001 + KEY_SNAPSHOT_MAX_AGE_MS)).toMatchObject({ unusable: 'expired' });
  });

  it('says malformed for a torn or foreign file instead of throwing', () => {
    expect(decodeKeySnapshot('{"format":1,"confirmedAt":5,"or', 6)).toMatchObject({ unusable: 'malformed' });
    expect(decodeKeySnapshot('{"format":2,"confirmedAt":5,"orgs":{}}', 6)).toMatchObject({ unusable: 'malformed' });
    expect(decodeKeySnapshot('{"format":1,"confirmedAt":5,"orgs":{"o":[1]}}', 6)).toMatchObject({ unusable: 'malformed' });
  });

  it('writes the file atomically, readable only by its owner, and reads it back', () => {
    const snapshot = new KeySnapshot(path.join(dir(), 'spool'));
    expect(snapshot.read()).toEqual({ unusable: 'missing' });
    snapshot.write(records, Date.now());
    expect(statSync(snapshot.file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${snapshot.file}.tmp`)).toBe(false);
    const reading = snapshot.read();
    expect('records' in reading && reading.records).toEqual(records);
    snapshot.write(new Map([['org-b', records.get('org-b')!]]), Date.now());
    const again = snapshot.read();
    expect('records' in again && [...again.records.keys()]).toEqual(['org-b']);
  });

  it('deletes an expired or malformed copy when it reads it', () => {
    const snapshot = new KeySnapshot(dir());
    snapshot.write(records, Date.now() - KEY_SNAPSHOT_MAX_AGE_MS - 1);
    expect(snapshot.read()).toMatchObject({ unusable: 'expired' });
    expect(existsSync(snapshot.file)).toBe(false);
    writeFileSync(snapshot.file, 'not json');
    expect(snapshot.read()).toMatchObject({ unusable: 'malformed' });
    expect(existsSync(snapshot.file)).toBe(false);
  });

  it('holds the records as they are on the topic: no key in clear', () => {
    const snapshot = new KeySnapshot(dir());
    snapshot.write(records, Date.now());
    const text = readFileSync(snapshot.file, 'utf8');
    expect(text).not.toContain('first record of a');
    expect(text).toContain(Buffer.from('first record of a').toString('base64'));
  });
});
