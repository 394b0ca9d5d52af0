/** Capped exponential backoff with jitter: the delay before retry number `attempt` (0-based). */

export const BACKOFF_DEFAULTS = { baseMs: 200, capMs: 10_000 } as const;

export function backoffDelay(attempt: number, { baseMs, capMs }: { baseMs: number; capMs: number } = BACKOFF_DEFAULTS, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
