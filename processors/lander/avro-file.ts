/**
 * The landed record format: an Avro object container file whose schema is a wrapper record
 *
 *   engagement.landing.LandedEvent { topic: string, partition: int, offset: long,
 *                                    event: union [EmailSent, EmailOpened, LinkClicked,
 *                                                  AttachmentViewed, EmailReplied] }
 *
 * with the current schema of every email event as a union branch, so each record says its type
 * in the file itself: read with avsc's default `wrapUnions: 'auto'`, `event` comes back wrapped
 * as { 'engagement.events.<Type>': {...} } (nullable fields stay plain values), and (topic, partition, offset) make every record
 * traceable to exactly one log position (how "no record lost or doubled" is checked).
 * The container is written here, deterministically: codec null and a sync marker derived from
 * the blob name. A file written whole is one block, so rewriting a cycle produces the same bytes
 * for the same records; a file the lander extended flush by flush (blob-writer.ts) holds one more
 * block per flush, the same records in the same order.
 */

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import avro from 'avsc';
import { catalog } from '../../schemas/catalog.js';
import { EMAIL_EVENT_TYPES, type EmailEvent } from '../../schemas/events.js';

export interface LandedRecord {
  topic: string;
  partition: number;
  offset: number;
  event: EmailEvent;
}

const NAMESPACE = 'engagement.events';

export const LANDED_SCHEMA = {
  type: 'record',
  name: 'LandedEvent',
  namespace: 'engagement.landing',
  fields: [
    { name: 'topic', type: 'string' },
    { name: 'partition', type: 'int' },
    { name: 'offset', type: 'long' },
    { name: 'event', type: EMAIL_EVENT_TYPES.map((t) => catalog.current.get(t)!.avroType.schema({ exportAttrs: true })) },
  ],
} as const;

const landedType = avro.Type.forSchema(LANDED_SCHEMA as unknown as avro.Schema, { wrapUnions: 'auto' });
const metaType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');
const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SCHEMA_JSON = Buffer.from(JSON.stringify(landedType.schema({ exportAttrs: true })));

/** Encodes one record's body once, when it is buffered. */
export function encodeLandedRecord(record: LandedRecord): Buffer {
  return landedType.toBuffer({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    event: { [`${NAMESPACE}.${record.event.type}`]: record.event },
  });
}

const BRANCH = new Map<string, number>(EMAIL_EVENT_TYPES.map((t, i) => [t, i]));

/** Avro zigzag varint of a safe integer (int or long). */
function writeZigzag(value: number, out: number[]): void {
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/**
 * The same bytes as encodeLandedRecord, assembled from an event body already encoded with the
 * current schema of its type (the message after its single-object header): the wrapper's topic,
 * partition and offset, the union branch of the type, then the body as it is. No re-encode.
 */
export function landedRecordFromBody(topic: string, partition: number, offset: number, type: EmailEvent['type'], body: Buffer): Buffer {
  const branch = BRANCH.get(type);
  if (branch === undefined) throw new Error(`${type} is not a landed event type`);
  const topicBytes = Buffer.from(topic, 'utf8');
  const head: number[] = [];
  writeZigzag(topicBytes.length, head);
  const prefix = Buffer.from(head);
  const tail: number[] = [];
  writeZigzag(partition, tail);
  writeZigzag(offset, tail);
  writeZigzag(branch, tail);
  const rest = Buffer.from(tail);
  return Buffer.concat([prefix, topicBytes, rest, body], prefix.length + topicBytes.length + rest.length + body.length);
}

export function syncMarkerFor(name: string): Buffer {
  return createHash('sha256').update(name).digest().subarray(0, 16);
}

export function containerFile(name: string, records: readonly Buffer[]): Buffer {
  const head = containerHead(name);
  return records.length > 0 ? Buffer.concat([head, dataBlock(name, records)]) : head;
}

/** The file's magic, header (schema, codec null) and sync marker: what precedes its first block. */
export function containerHead(name: string): Buffer {
  return Buffer.concat([MAGIC, metaType.toBuffer({ 'avro.schema': SCHEMA_JSON, 'avro.codec': Buffer.from('null') }), syncMarkerFor(name)]);
}

/**
 * One data block of `records` (count, size, the records, the sync marker): appended after the
 * blocks a file already holds, it is read as more records of the same file.
 */
export function dataBlock(name: string, records: readonly Buffer[]): Buffer {
  const body = Buffer.concat(records as Buffer[]);
  return Buffer.concat([longType.toBuffer(records.length), longType.toBuffer(body.length), body, syncMarkerFor(name)]);
}

/** Reads a landed file back (tests, replay tooling): every record with its event type restored. */
export async function readLandedFile(file: Buffer): Promise<LandedRecord[]> {
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (schema: avro.Schema) => avro.Type.forSchema(schema, { wrapUnions: 'auto' }),
  });
  const out: LandedRecord[] = [];
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (value: { topic: string; partition: number; offset: number; event: Record<string, Record<string, unknown>> }) => {
      const [branch, fields] = Object.entries(value.event)[0]!;
      const type = branch.split('.').pop() as EmailEvent['type'];
      out.push({ topic: value.topic, partition: value.partition, offset: Number(value.offset), event: { ...fields, type } as unknown as EmailEvent });
    });
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([file]).pipe(decoder);
  });
  return out;
}
