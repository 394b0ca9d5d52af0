/**
 * Every schema version of every event, read once from schemas/avro/<event>.v<N>.avsc.
 * The highest version of an event is its current (reader and writer) schema.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { EVENT_TYPES, type EventType } from './events.js';
import { fingerprintBytes, rabinFingerprint } from './fingerprint.js';

export interface SchemaVersion {
  type: EventType;
  version: number;
  file: string;
  avroType: avro.Type;
  /** 16 hex chars of the little-endian fingerprint bytes: the lookup key on decode */
  fingerprintHex: string;
  fingerprint: bigint;
}

export interface Catalog {
  current: ReadonlyMap<EventType, SchemaVersion>;
  byFingerprint: ReadonlyMap<string, SchemaVersion>;
  versions: ReadonlyMap<EventType, readonly SchemaVersion[]>;
}

export const AVRO_DIR = fileURLToPath(new URL('./avro/', import.meta.url));

const FILE_NAME = /^([a-z-]+)\.v(\d+)\.avsc$/;

export function canonicalForm(type: avro.Type): string {
  return JSON.stringify(type.schema());
}

export function loadSchemaVersion(file: string, schema: avro.Schema, version: number): SchemaVersion {
  const avroType = avro.Type.forSchema(schema);
  const name = (avroType.name ?? '').split('.').pop() as EventType;
  if (!EVENT_TYPES.includes(name)) throw new Error(`${file}: record ${avroType.name} is not a known event type`);
  const fingerprint = rabinFingerprint(canonicalForm(avroType));
  return { type: name, version, file, avroType, fingerprint, fingerprintHex: fingerprintBytes(fingerprint).toString('hex') };
}

export function loadCatalog(dir: string = AVRO_DIR): Catalog {
  const versions = new Map<EventType, SchemaVersion[]>();
  const byFingerprint = new Map<string, SchemaVersion>();
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_NAME.exec(file);
    if (!match) continue;
    const schema = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as avro.Schema;
    const entry = loadSchemaVersion(file, schema, Number(match[2]));
    const list = versions.get(entry.type) ?? [];
    list.push(entry);
    versions.set(entry.type, list);
    byFingerprint.set(entry.fingerprintHex, entry);
  }
  const current = new Map<EventType, SchemaVersion>();
  for (const type of EVENT_TYPES) {
    const list = versions.get(type);
    if (!list || list.length === 0) throw new Error(`no schema for event ${type} in ${dir}`);
    list.sort((a, b) => a.version - b.version);
    current.set(type, list[list.length - 1]!);
  }
  return { current, byFingerprint, versions };
}

export const catalog: Catalog = loadCatalog();
