/**
 * Runtime validation from the very schemas /openapi.json publishes (ROUTE_DOCS), so the
 * description cannot drift from what is enforced. It runs as the route's LAST preHandler, after
 * authentication (a bad key is 401 before a bad body is 400), which is why fastify's own
 * validation step (it runs before preHandlers) is switched off in openapi-plugin.ts.
 *
 * A failure is the usual `400 bad_request` with `details: [{path, message}]`, one entry per bad
 * field or parameter (dotted paths, as the hand parsers write them). The parsers each handler
 * calls stay behind it for what a schema cannot say (clock skew, duplicate recipients, ranges).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { badRequest, type FieldProblem } from '../../core/errors.js';
import type { JsonSchema } from '../../schemas/json-schema.js';
import type { RouteDoc } from './route-docs.js';
import { ID_AT_PROBLEM, ID_PATTERN } from '../../schemas/ids.js';

// bodies are JSON: no coercion ("yes" is not a boolean); path and query values are strings on
// the wire, so they are coerced (limit=5 is the integer 5)
const bodies = new Ajv2020({ strict: false, allErrors: true });
const strings = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
addFormats.default(bodies);
addFormats.default(strings);

const objectOf = (properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({ type: 'object', properties, required });

/** Pure: Ajv errors → one `{path, message}` per field, dotted paths, `where` prefixing top-level names only for params. */
export function fieldProblems(errors: readonly ErrorObject[] | null | undefined): FieldProblem[] {
  const byPath = new Map<string, string[]>();
  for (const e of errors ?? []) {
    const base = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const missing = e.keyword === 'required' ? String((e.params as { missingProperty?: string }).missingProperty) : null;
    const path = (missing === null ? base : [...base, missing]).join('.') || '(body)';
    const idPattern = e.keyword === 'pattern' && (e.params as { pattern?: string }).pattern === ID_PATTERN;
    const message =
      missing !== null ? 'is required' : e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 'matches none of the allowed forms' : idPattern ? ID_AT_PROBLEM : (e.message ?? 'is invalid');
    const list = byPath.get(path) ?? [];
    if (!list.includes(message)) list.push(message);
    byPath.set(path, list);
  }
  return [...byPath].map(([path, messages]) => {
    // a oneOf reports every branch it tried: the summary says it better than the branches
    const summary = messages.find((m) => m === 'matches none of the allowed forms');
    return { path, message: summary ?? messages.join('; ') };
  });
}

interface Compiled {
  params?: ValidateFunction;
  query?: ValidateFunction;
  body?: ValidateFunction;
}

/** The schema actually enforced on the body: a batch's items are checked one by one (a result each), not as a 400 of the batch. */
export function enforcedBody(doc: RouteDoc): JsonSchema | undefined {
  if (!doc.body) return undefined;
  if (!doc.itemsCheckedOneByOne) return doc.body;
  const { items: _items, ...batch } = doc.body as Record<string, unknown>;
  return batch as JsonSchema;
}

/** Path parameters are always present strings: a schema that says no more has nothing to check (the tracking hot path). */
function constrains(params: Record<string, JsonSchema>): boolean {
  return Object.values(params).some((schema) => Object.keys(schema).some((k) => k !== 'type' && k !== 'description') || (schema as { type?: unknown }).type !== 'string');
}

export function compileRouteValidation(doc: RouteDoc): Compiled {
  const body = enforcedBody(doc);
  return {
    ...(doc.params && constrains(doc.params) ? { params: strings.compile(objectOf(doc.params, Object.keys(doc.params))) } : {}),
    ...(doc.querystring ? { query: strings.compile(objectOf(doc.querystring, [])) } : {}),
    ...(body ? { body: bodies.compile(body) } : {}),
  };
}

/** `?x=` means "x not given" to every parser; the schema sees it absent too. A copy either way (coercion must not reach the handler). */
function withoutEmpty(values: unknown): Record<string, unknown> {
  const source = (values as Record<string, unknown> | null | undefined) ?? {};
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) if (source[key] !== '') out[key] = source[key];
  return out;
}

export function requestValidator(doc: RouteDoc): preHandlerAsyncHookHandler | null {
  const compiled = compileRouteValidation(doc);
  if (!compiled.params && !compiled.query && !compiled.body) return null;
  return async (request: FastifyRequest) => {
    const problems: FieldProblem[] = [];
    // copies: coercion must not change what the handler and its parser see
    if (compiled.params && !compiled.params({ ...(request.params as object) })) problems.push(...fieldProblems(compiled.params.errors));
    if (compiled.query && !compiled.query(withoutEmpty(request.query))) problems.push(...fieldProblems(compiled.query.errors));
    if (compiled.body && !compiled.body(request.body)) problems.push(...fieldProblems(compiled.body.errors));
    if (problems.length > 0) {
      throw badRequest(problems, `the request is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
    }
  };
}
