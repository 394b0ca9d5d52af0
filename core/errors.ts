/**
 * The one error hierarchy. Callers branch on `code`; retry loops read only `retriable`.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'dependency_missing'
  | 'stack_failed'
  | 'decode_failed'
  | 'key_unknown'
  | 'decrypt_failed'
  | 'validation_failed'
  | 'unknown_event_type'
  | 'token_invalid'
  | 'engagement_disabled'
  | 'subscription_ended'
  | 'control_unreadable'
  | 'forbidden'
  | 'unauthorized'
  | 'not_found'
  | 'bad_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'replay_locked'
  | 'kafka_unavailable'
  | 'redis_unavailable'
  | 'storage_unavailable'
  | 'superseded'
  | 'internal';

export interface EngagementErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class EngagementError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EngagementErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EngagementError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

export function isEngagementError(error: unknown, code?: ErrorCode): error is EngagementError {
  return error instanceof EngagementError && (code === undefined || error.code === code);
}

/** One problem of a request: the field or parameter it concerns, and what is wrong with it. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A 400 listing every problem; the HTTP body is `{error:"bad_request", message, details:[{path,message}]}`. */
export function badRequest(fields: FieldProblem[], message = 'the request is invalid'): EngagementError {
  return new EngagementError('bad_request', message, { details: { fields } });
}

/** A 400 about one query or path parameter. */
export function invalidParameter(parameter: string, message: string): EngagementError {
  return badRequest([{ path: parameter, message }], message);
}

/** Wraps anything thrown by a client library, keeping it as `cause`. */
export function asEngagementError(error: unknown, fallback: ErrorCode = 'internal', retriable = false): EngagementError {
  if (error instanceof EngagementError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EngagementError(fallback, message, { cause: error, retriable });
}
