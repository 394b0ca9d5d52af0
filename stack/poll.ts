/** Polls `check` until it returns true or the time runs out. Returns whether it succeeded. */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs = 250, onTick }: { timeoutMs: number; intervalMs?: number; onTick?: (elapsedMs: number) => void },
): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    if (await check()) return true;
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) return false;
    onTick?.(elapsed);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsed)));
  }
}
