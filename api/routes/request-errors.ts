import { asEngagementError, badRequest } from '../../core/errors.js';
import { idCharsProblem } from '../../schemas/ids.js';

/** Redis failures reading the control state are the dependency's, not ours: answer 503. */
export function controlStateUnavailable(error: unknown): never {
  throw asEngagementError(error, 'redis_unavailable', true);
}

const MAX_PARAM_CHARS = 200;

/**
 * Path ids end up in events and Redis keys; the same bounds as ids in event bodies. `personal`:
 * the route creates data under them, so an id with "@" is refused (schemas/ids.ts).
 */
export function checkIds(params: Record<string, string>, personal = false): void {
  const errors = Object.entries(params).flatMap(([name, value]) => {
    if (value.length === 0 || value.length > MAX_PARAM_CHARS) return [{ path: name, message: `must be 1-${MAX_PARAM_CHARS} characters` }];
    const problem = personal ? idCharsProblem(value) : null;
    return problem ? [{ path: name, message: problem }] : [];
  });
  if (errors.length > 0) throw badRequest(errors, 'invalid path parameter');
}
