/**
 * How an answer becomes JSON. Most answers are written as the handlers build them
 * (JSON.stringify): a response schema describes, it never drops or coerces a field, and the int
 * tests check real answers against it. The KPI read models, the hot read path, are serialised
 * from their closed schema by fast-json-stringify instead (an org answer, 30 daily rows, in a
 * third of the time). That would silently drop a field the schema lacks, so
 * test/projections/read-kpis.int.spec.ts requires both serialisations of every real KPI answer
 * to be the same string.
 */
import fastJson from 'fast-json-stringify';
import type { JsonSchema } from '../../schemas/json-schema.js';
import { emailKpisResponse, recipientKpisResponse, rollupKpisResponse } from './response-schemas.js';
import type { RouteDoc } from './route-docs.js';

export type Serialize = (data: unknown) => string;

/** The read models written from their schema. */
export const SCHEMA_SERIALIZED: ReadonlySet<JsonSchema> = new Set([emailKpisResponse, recipientKpisResponse, rollupKpisResponse]);

const plain: Serialize = (data) => JSON.stringify(data);
const compiled = new Map<JsonSchema, Serialize>();

/** The serialiser of one schema's documents (compiled once per schema). */
export function schemaSerializer(schema: JsonSchema): Serialize {
  let serialize = compiled.get(schema);
  if (serialize === undefined) compiled.set(schema, (serialize = fastJson(schema as unknown as Parameters<typeof fastJson>[0]) as Serialize));
  return serialize;
}

/** The serialiser of a route's answers with `status`: from the schema for a KPI read model, else JSON.stringify. */
export function responseSerializer(doc: RouteDoc | undefined, status: string): Serialize {
  const response = doc?.responses[status];
  const schema = typeof response === 'object' && 'schema' in response ? response.schema : undefined;
  return schema !== undefined && SCHEMA_SERIALIZED.has(schema) ? schemaSerializer(schema) : plain;
}
