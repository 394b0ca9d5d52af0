import { table, type Cell } from '../core/table.js';

/** One line of the bench's result table; `check` is a correctness verdict, never a timing one. */
export interface BenchRow {
  scenario: string;
  metric: string;
  value: number | string;
  unit: string;
  /** the same-run baseline or the DESIGN §8 target this row is read against */
  reference?: string;
  note?: string;
}

export function formatValue(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const HEADERS = ['scenario', 'metric', 'value', 'unit', 'reference', 'note'] as const;

function cells(row: BenchRow): Cell[] {
  return [row.scenario, row.metric, formatValue(row.value), row.unit, row.reference ?? '', row.note ?? ''];
}

/** Plain aligned text for the terminal. Pure. */
export function textTable(rows: readonly BenchRow[]): string {
  return table(HEADERS, rows.map(cells));
}

/** A GitHub-flavoured markdown table for RESULTS.md. Pure. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const esc = (c: Cell): string => String(c ?? '').replaceAll('|', '\\|');
  const line = (cs: readonly Cell[]): string => `| ${cs.map(esc).join(' | ')} |`;
  return [line(HEADERS), line(HEADERS.map(() => '---')), ...rows.map((r) => line(cells(r)))].join('\n');
}
