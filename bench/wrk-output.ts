/**
 * What the bench reads from `wrk --latency` output. Pure.
 */
export interface WrkResult {
  requests: number;
  elapsedSeconds: number;
  requestsPerSecond: number;
  /** milliseconds, from wrk's latency distribution (HdrHistogram over every request) */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  non2xx3xx: number;
  socketErrors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function duration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`wrk: unreadable duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

export function parseWrkOutput(output: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(output);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!total || !rps) throw new Error(`wrk: no totals in its output:\n${output}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(output);
    if (!m) throw new Error(`wrk: no ${p}% latency (was --latency given?)`);
    return duration(m[1]!);
  };
  const non = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    elapsedSeconds: duration(`${total[2]}${total[3]}`) / 1000,
    requestsPerSecond: Number(rps[1]),
    latencyMs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
  };
}

/** A wrk Lua script sending `paths` round robin with `headers`. */
export function wrkScript(paths: readonly string[], headers: Record<string, string> = {}): string {
  const list = paths.map((p) => JSON.stringify(p)).join(',\n  ');
  const head = Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  return `${head}\nlocal paths = {\n  ${list}\n}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n`;
}
