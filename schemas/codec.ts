/**
 * Avro single-object encoding: 0xC3 0x01, the writer schema's 8-byte CRC-64-AVRO fingerprint
 * (little-endian), then the binary body. Decoding resolves older writer schemas to the
 * current reader schema, so readers keep working while producers roll forward or back.
 */

import type avro from 'avsc';
import { EngagementError } from '../core/errors.js';
import { catalog as defaultCatalog, type Catalog, type SchemaVersion } from './catalog.js';
import type { AnyEvent } from './events.js';

const MARKER_0 = 0xc3;
const MARKER_1 = 0x01;
const HEADER_BYTES = 10;

interface Reader {
  entry: SchemaVersion;
  reader: avro.Type;
  resolver: avro.Resolver | undefined;
}

export class EventCodec {
  private readonly readers = new Map<string, Reader>();
  private readonly headers = new Map<string, Buffer>();

  constructor(private readonly catalog: Catalog = defaultCatalog) {
    for (const [hex, entry] of catalog.byFingerprint) {
      const current = catalog.current.get(entry.type)!;
      const resolver = current === entry ? undefined : current.avroType.createResolver(entry.avroType);
      this.readers.set(hex, { entry, reader: current.avroType, resolver });
    }
    for (const [type, entry] of catalog.current) {
      this.headers.set(type, Buffer.concat([Buffer.from([MARKER_0, MARKER_1]), Buffer.from(entry.fingerprintHex, 'hex')]));
    }
  }

  encode(event: AnyEvent): Buffer {
    return this.encodeWith(this.catalog.current.get(event.type), event);
  }

  /** Encodes with a given (possibly older) schema version: how old producers are simulated. */
  encodeWith(entry: SchemaVersion | undefined, event: AnyEvent): Buffer {
    if (!entry) throw new EngagementError('unknown_event_type', `unknown event type "${String((event as { type?: unknown }).type)}"`);
    let body: Buffer;
    try {
      body = entry.avroType.toBuffer(event);
    } catch (cause) {
      throw new EngagementError('validation_failed', `${entry.type} does not match its schema: ${(cause as Error).message}`, { cause });
    }
    const header =
      this.headers.get(entry.type) !== undefined && this.catalog.current.get(entry.type) === entry
        ? this.headers.get(entry.type)!
        : Buffer.concat([Buffer.from([MARKER_0, MARKER_1]), Buffer.from(entry.fingerprintHex, 'hex')]);
    return Buffer.concat([header, body], header.length + body.length);
  }

  /**
   * Writes what `encode` returns into `buf` at `pos` (no allocation: the tracking spool's hot path);
   * returns where it ends, or -1 when it does not fit.
   */
  encodeInto(event: AnyEvent, buf: Buffer, pos: number): number {
    const entry = this.catalog.current.get(event.type);
    if (!entry) throw new EngagementError('unknown_event_type', `unknown event type "${String((event as { type?: unknown }).type)}"`);
    if (pos + HEADER_BYTES > buf.length) return -1;
    this.headers.get(entry.type)!.copy(buf, pos);
    let end: number;
    try {
      end = entry.avroType.encode(event, buf, pos + HEADER_BYTES);
    } catch (cause) {
      throw new EngagementError('validation_failed', `${entry.type} does not match its schema: ${(cause as Error).message}`, { cause });
    }
    return end < 0 ? -1 : end;
  }

  /**
   * The Avro body of a single-object message when it was written with `type`'s current schema
   * (then it is byte for byte what `encode` would write for the decoded event), else undefined.
   */
  currentBody(buf: Buffer, type: AnyEvent['type']): Buffer | undefined {
    const header = this.headers.get(type);
    if (!header || buf.length < HEADER_BYTES || buf.compare(header, 0, HEADER_BYTES, 0, HEADER_BYTES) !== 0) return undefined;
    return buf.subarray(HEADER_BYTES);
  }

  decode(buf: Buffer): AnyEvent {
    if (buf.length < HEADER_BYTES) {
      throw new EngagementError('decode_failed', `message of ${buf.length} bytes is shorter than the single-object header`);
    }
    if (buf[0] !== MARKER_0 || buf[1] !== MARKER_1) {
      throw new EngagementError('decode_failed', 'missing Avro single-object marker C3 01');
    }
    const hex = buf.toString('hex', 2, HEADER_BYTES);
    const reader = this.readers.get(hex);
    if (!reader) throw new EngagementError('decode_failed', `unknown writer schema fingerprint ${hex}`);
    let value: Record<string, unknown>;
    try {
      value = reader.reader.fromBuffer(buf.subarray(HEADER_BYTES), reader.resolver) as Record<string, unknown>;
    } catch (cause) {
      throw new EngagementError('decode_failed', `${reader.entry.type} v${reader.entry.version} body is invalid: ${(cause as Error).message}`, {
        cause,
      });
    }
    value.type = reader.entry.type;
    return value as unknown as AnyEvent;
  }
}

const shared = new EventCodec();

export function encodeEvent(event: AnyEvent): Buffer {
  return shared.encode(event);
}

export function decodeEvent(buf: Buffer): AnyEvent {
  return shared.decode(buf);
}
