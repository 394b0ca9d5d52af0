/**
 * A process's local copy of the keys topic as it last read it: the records exactly as they are on
 * the topic (each data key wrapped by the master keys, so the file is no more readable than the
 * topic itself), by org, in topic order. It lets an API process started while Kafka is down seal
 * tracking hits into its spool at once (api/server.ts), instead of waiting for the keys topic.
 *
 * Crypto-shredding still holds: the copy is rewritten without an org as soon as the keyring reads
 * its tombstone, it is only a stand-in until the topic has been read to its end once, and a copy
 * not confirmed against the topic for KEYS_SHRED_BOUND_HOURS (the bound within which a destroyed
 * key is gone from the topic) is deleted unread: a destroyed key is never used from it after that.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { KEYS_SHRED_BOUND_HOURS } from '../topic-retention.js';

export const KEY_SNAPSHOT_MAX_AGE_MS = KEYS_SHRED_BOUND_HOURS * 3_600_000;
const FORMAT = 1;
const CLOCK_SLACK_MS = 60_000;

/** orgId -> the org's key records since its last tombstone, in topic order (raw topic values). */
export type KeyRecords = ReadonlyMap<string, readonly Buffer[]>;

export interface KeySnapshotFile {
  format: number;
  /** the keys topic it copies: a SPOOL_DIR reused with another TOPIC_PREFIX does not restore foreign keys */
  topic: string;
  /** when this copy last equalled the topic read to its end (ms) */
  confirmedAt: number;
  orgs: Record<string, string[]>;
}

/** The file's content for `records`, confirmed at `confirmedAt`. Pure. */
export function encodeKeySnapshot(records: KeyRecords, confirmedAt: number, topic: string): string {
  const orgs: Record<string, string[]> = {};
  for (const [orgId, values] of records) if (values.length > 0) orgs[orgId] = values.map((v) => v.toString('base64'));
  return JSON.stringify({ format: FORMAT, topic, confirmedAt, orgs } satisfies KeySnapshotFile);
}

export type SnapshotReading =
  | { records: Map<string, Buffer[]>; confirmedAt: number }
  | { unusable: 'missing' | 'expired' | 'malformed' | 'unreadable' | 'other_topic'; detail?: string };

/** What a snapshot file's text gives for the keys topic `topic` at `now`. Pure. */
export function decodeKeySnapshot(text: string, now: number, topic: string, maxAgeMs = KEY_SNAPSHOT_MAX_AGE_MS): SnapshotReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { unusable: 'malformed', detail: (error as Error).message };
  }
  const file = parsed as Partial<KeySnapshotFile> | null;
  if (!file || file.format !== FORMAT || typeof file.topic !== 'string' || typeof file.confirmedAt !== 'number' || typeof file.orgs !== 'object' || file.orgs === null) {
    return { unusable: 'malformed', detail: 'not a key snapshot of format 1' };
  }
  if (file.topic !== topic) return { unusable: 'other_topic', detail: `a copy of ${file.topic}` };
  // a stamp from the future (a clock set back since) would stretch the bound: such a copy is not trusted
  if (now - file.confirmedAt > maxAgeMs || file.confirmedAt > now + CLOCK_SLACK_MS) return { unusable: 'expired', detail: `confirmed ${new Date(file.confirmedAt).toISOString()}` };
  const records = new Map<string, Buffer[]>();
  for (const [orgId, values] of Object.entries(file.orgs)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) return { unusable: 'malformed', detail: `org ${orgId}` };
    records.set(orgId, values.map((v: string) => Buffer.from(v, 'base64')));
  }
  return { records, confirmedAt: file.confirmedAt };
}

/** The file under a directory (the API's SPOOL_DIR), read and replaced whole. */
export class KeySnapshot {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'KEYS');
  }

  /**
   * The copy of `topic`, or why there is none (never throws: the copy is only a stand-in); an
   * expired, malformed or foreign copy is deleted.
   */
  read(now: number, topic: string): SnapshotReading {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? { unusable: 'missing' } : { unusable: 'unreadable', detail: (error as Error).message };
    }
    const reading = decodeKeySnapshot(text, now, topic);
    if ('unusable' in reading) this.remove();
    return reading;
  }

  /** Replaces the file atomically (written beside it, fsynced, renamed). */
  write(records: KeyRecords, confirmedAt: number, topic: string): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, encodeKeySnapshot(records, confirmedAt, topic));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
  }

  remove(): void {
    for (const file of [this.file, `${this.file}.tmp`]) {
      try {
        unlinkSync(file);
      } catch {
        // not there
      }
    }
  }
}
