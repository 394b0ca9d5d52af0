import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isEngagementError, type ErrorCode } from '../core/errors.js';

/**
 * Every error becomes `{error: code, message, details?}` with a status derived from the code,
 * so clients branch on `error` alone. A route may pick another status for a code by putting
 * `httpStatus` in the error's details (KPI queries answer engagement_disabled with 403).
 */
export const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  token_invalid: 404,
  engagement_disabled: 409,
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

export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (isEngagementError(error)) {
    const override = error.details?.httpStatus;
    const status = typeof override === 'number' ? override : (STATUS_BY_CODE[error.code] ?? 500);
    const fields = error.details?.fields;
    return { status, body: { error: error.code, message: error.message, ...(fields === undefined ? {} : { details: fields }) } };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode ?? 500;
  if (status === 413) return { status, body: { error: 'payload_too_large', message: fastifyError.message ?? 'request body too large' } };
  if (status === 415) return { status, body: { error: 'unsupported_media_type', message: fastifyError.message ?? 'unsupported content type' } };
  if (status >= 400 && status < 500) return { status, body: { error: 'bad_request', message: fastifyError.message ?? 'bad request' } };
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}

export function errorHandler(log: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, body } = errorResponse(error);
    if (status >= 500) log.error({ err: error, method: request.method, url: request.routeOptions.url }, 'request failed');
    return reply.status(status).send(body);
  };
}
