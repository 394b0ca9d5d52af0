/** Progress lines go to stderr, so stdout carries only the result table. */

const started = Date.now();

export function progress(message: string): void {
  process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}
