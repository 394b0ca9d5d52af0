/**
 * The one way an HTTP error is answered: every error becomes `{error: code, message, details?}`
 * (`details` lists `{path, message}` for a bad request) with a status derived from the code, so
 * clients branch on `error` alone. A route that answers a code with another status says so in its
 * route config (`config.errorStatus`): KPI reads answer engagement_disabled with 403, sends with 409.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isEngagementError, type ErrorCode } from '../core/errors.js';

export type ErrorStatusOverrides = Partial<Record<ErrorCode, number>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** statuses this route answers for some codes instead of STATUS_BY_CODE's */
    errorStatus?: ErrorStatusOverrides;
  }
}

export const STATUS_BY_CODE: ErrorStatusOverrides = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  token_invalid: 404,
  engagement_disabled: 409,
  subscription_ended: 409,
  control_unreadable: 409,
  conflict: 409,
  replay_locked: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  kafka_unavailable: 503,
  redis_unavailable: 503,
  storage_unavailable: 503,
};

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

export function errorResponse(error: unknown, overrides: ErrorStatusOverrides = {}): { status: number; body: ErrorBody } {
  if (isEngagementError(error)) {
    const status = overrides[error.code] ?? STATUS_BY_CODE[error.code] ?? 500;
    const fields = error.details?.fields;
    return { status, body: { error: error.code, message: error.message, ...(fields === undefined ? {} : { details: fields }) } };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  if (status === 413) return { status, body: { error: 'payload_too_large', message: fastifyError.message ?? 'request body too large' } };
  if (status === 415) return { status, body: { error: 'unsupported_media_type', message: fastifyError.message ?? 'unsupported content type' } };
  if (status === 400) {
    // a body fastify could not parse (malformed JSON, an empty JSON body): the whole body is the bad field
    const message = fastifyError.message ?? 'bad request';
    return { status, body: { error: 'bad_request', message, details: [{ path: '(body)', message }] } };
  }
  if (status > 400 && status < 500) return { status, body: { error: 'bad_request', message: fastifyError.message ?? 'bad request' } };
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}

export function errorHandler(log: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, body } = errorResponse(error, request.routeOptions.config?.errorStatus);
    if (status >= 500) log.error({ err: error, method: request.method, url: request.routeOptions.url }, 'request failed');
    return reply.status(status).send(body);
  };
}
