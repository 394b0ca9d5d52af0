import type { ServiceState } from './types.js';

/** Plain-text table of service states for `stack up|status`. Pure. */
export function formatServices(services: readonly ServiceState[]): string {
  const rows = services.map((s) => [
    s.service,
    s.healthy ? 'healthy' : 'DOWN',
    s.endpoint,
    s.managed ? `started by stack (pid ${s.pid})` : 'external',
    s.detail,
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ').trimEnd()).join('\n');
}
