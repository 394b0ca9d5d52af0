/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses) of each event as `POST /v1/events` and NDJSON files
 * accept it, derived from the current Avro schema that validates it (validate.ts), so the API
 * description cannot drift from the validator: eventId may be omitted (generated), occurredAt
 * and acceptedAt are ISO-8601 strings or epoch ms, fields with an Avro default are optional. Pure.
 */
import { readFileSync } from 'node:fs';
import { AVRO_DIR, catalog } from './catalog.js';
import { EVENT_TYPES, RECIPIENT_TYPES, type EventType } from './events.js';

export type JsonSchema = Record<string, unknown>;

const TIME: JsonSchema = {
  oneOf: [
    { type: 'string', format: 'date-time' },
    { type: 'integer', description: 'epoch milliseconds' },
  ],
};
const GENERATED = new Set(['eventId', 'occurredAt']);

type AvroField = { name: string; type: unknown; default?: unknown; doc?: string };

function convert(type: unknown, named: Map<string, JsonSchema>): JsonSchema {
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        return { type: 'string' };
      case 'boolean':
        return { type: 'boolean' };
      case 'int':
      case 'long':
        return { type: 'integer' };
      case 'float':
      case 'double':
        return { type: 'number' };
      case 'null':
        return { type: 'null' };
      case 'bytes':
        return { type: 'string' };
      default: {
        const ref = named.get(type) ?? named.get(type.split('.').pop()!);
        if (!ref) throw new Error(`unknown Avro type ${type}`);
        return ref;
      }
    }
  }
  if (Array.isArray(type)) {
    const branches = type.map((t) => convert(t, named));
    const nonNull = branches.filter((b) => b.type !== 'null');
    if (nonNull.length === 1 && branches.length === 2) return { anyOf: [nonNull[0]!, { type: 'null' }] };
    return { anyOf: branches };
  }
  const t = type as { type: string; logicalType?: string; name?: string; symbols?: string[]; items?: unknown; values?: unknown; fields?: AvroField[] };
  if (t.logicalType === 'timestamp-millis') return TIME;
  if (t.logicalType === 'uuid') return { type: 'string', format: 'uuid' };
  let out: JsonSchema;
  switch (t.type) {
    case 'enum':
      out = { type: 'string', enum: t.symbols };
      break;
    case 'array':
      out = { type: 'array', items: convert(t.items, named) };
      break;
    case 'map':
      out = { type: 'object', additionalProperties: convert(t.values, named) };
      break;
    case 'record':
      out = recordSchema(t.fields ?? [], named);
      break;
    default:
      out = convert(t.type, named);
  }
  if (t.name) named.set(t.name.split('.').pop()!, out);
  return out;
}

function recordSchema(fields: readonly AvroField[], named: Map<string, JsonSchema>, top = false): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of fields) {
    const schema = convert(field.type, named);
    properties[field.name] = field.doc ? { ...schema, description: field.doc } : schema;
    if (field.default === undefined && !(top && GENERATED.has(field.name))) required.push(field.name);
  }
  return { type: 'object', properties, required };
}

/** The JSON Schema of one event type, from its current Avro schema (the file: it keeps logical types). */
export function eventJsonSchema(type: EventType): JsonSchema {
  const schema = JSON.parse(readFileSync(`${AVRO_DIR}/${catalog.current.get(type)!.file}`, 'utf8')) as { fields: AvroField[]; doc?: string };
  const named = new Map<string, JsonSchema>();
  const record = recordSchema(schema.fields, named, true);
  const properties = { type: { const: type }, ...(record.properties as Record<string, JsonSchema>) };
  let required = ['type', ...(record.required as string[])];
  const extra: JsonSchema = {};
  if (type === 'ContactFollowPreferenceChanged') {
    // the legacy contactType may be left out when recipientType says the namespace (validate.ts fills it)
    required = required.filter((f) => f !== 'contactType');
    extra.anyOf = [{ required: ['contactType'] }, { required: ['recipientType'], properties: { recipientType: { enum: [...RECIPIENT_TYPES] } } }];
  }
  return { title: type, ...(schema.doc ? { description: schema.doc } : {}), ...record, properties, required, ...extra };
}

/** Any event: one schema per type, told apart by `type`. */
export function anyEventJsonSchema(): JsonSchema {
  return { oneOf: EVENT_TYPES.map((t) => eventJsonSchema(t)) };
}
