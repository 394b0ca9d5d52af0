/**
 * Where a process spent its CPU, from a V8 `.cpuprofile` (`node --cpu-prof`, or the bench's API
 * child with BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"): self time per function and
 * per file or package, optionally within a window of seconds from the profile's start (a bench
 * run's progress lines say when each phase ran, from the bench's start: for a child's profile,
 * subtract the time of the line that started the child). The profiles quoted in bench/RESULTS.md
 * come from here:
 *
 *   npm run bench:profile -- <file.cpuprofile> [--from S] [--to S] [--top N]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileTop {
  /** sampled time inside the window, ms */
  totalMs: number;
  /** [name, share of the window 0..1], largest first */
  functions: Array<[string, number]>;
  files: Array<[string, number]>;
}

/** `node_modules/<pkg>/…` → the package; a source file → its last two path parts; natives by name. */
function fileOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName || '(native)';
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  return inPackage ? inPackage[1]! : frame.url.split('/').slice(-2).join('/');
}

function ranked(totals: Map<string, number>, total: number, top: number): Array<[string, number]> {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => [name, total > 0 ? us / total : 0]);
}

/** Pure: self time per function and per file within [fromS, toS] seconds of the profile. */
export function profileTop(profile: CpuProfile, options: { fromS?: number; toS?: number; top?: number } = {}): ProfileTop {
  const from = (options.fromS ?? 0) * 1e6;
  const to = (options.toS ?? Number.POSITIVE_INFINITY) * 1e6;
  const top = options.top ?? 25;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let at = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) continue;
    const frame = frames.get(profile.samples[i]!);
    if (!frame) continue;
    total += delta;
    // tsx-compiled sources report line 0 for every function: the line only where it means something
    const where = frame.url ? ` ${frame.url.split('/').slice(-2).join('/')}${frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : ''}` : '';
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + delta);
    const file = fileOf(frame);
    byFile.set(file, (byFile.get(file) ?? 0) + delta);
  }
  return { totalMs: total / 1000, functions: ranked(byFunction, total, top), files: ranked(byFile, total, top) };
}

export function formatProfileTop(result: ProfileTop): string {
  const rows = (list: Array<[string, number]>) => list.map(([name, share]) => `${(share * 100).toFixed(1).padStart(5)}%  ${name}`).join('\n');
  return `sampled ${result.totalMs.toFixed(0)} ms\n\nself time by function:\n${rows(result.functions)}\n\nself time by file or package:\n${rows(result.files)}\n`;
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } } });
  const number = (name: 'from' | 'to' | 'top'): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0, not "${raw}"`);
    return value;
  };
  if (positionals.length !== 1) throw new Error('usage: npm run bench:profile -- <file.cpuprofile> [--from S] [--to S] [--top N]');
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  const fromS = number('from');
  const toS = number('to');
  const top = number('top');
  process.stdout.write(formatProfileTop(profileTop(profile, { ...(fromS !== undefined ? { fromS } : {}), ...(toS !== undefined ? { toS } : {}), ...(top !== undefined ? { top } : {}) })));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:profile: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
