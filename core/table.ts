/** Plain aligned text tables for the terminal. Pure. */
export type Cell = string | number | null | undefined;

export function formatCell(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return value;
}

export function table(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = rows.map((row) => row.map(formatCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** A two-column "name value" listing of a flat object's scalar fields. */
export function keyValues(record: Record<string, unknown>): string {
  const rows = Object.entries(record)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => [k, typeof v === 'boolean' ? String(v) : (v as Cell)] as const);
  return table(['kpi', 'value'], rows);
}

export function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
