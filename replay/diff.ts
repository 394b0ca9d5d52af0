/**
 * Pure: two projections as maps of key (relative to the version base) -> fields, compared key
 * by key and field by field. A set is given as member -> "1". `*` as field means the whole key
 * is missing on one side.
 */

export type Fields = Readonly<Record<string, string>>;
export type Snapshot = ReadonlyMap<string, Fields>;

export interface Difference {
  key: string;
  field: string;
  left: string | null;
  right: string | null;
}

export function diffSnapshots(left: Snapshot, right: Snapshot): Difference[] {
  const out: Difference[] = [];
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const key of keys) {
    const a = left.get(key);
    const b = right.get(key);
    if (!a || !b) {
      out.push({ key, field: '*', left: a ? describe(a) : null, right: b ? describe(b) : null });
      continue;
    }
    for (const field of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const x = a[field] ?? null;
      const y = b[field] ?? null;
      if (x !== y) out.push({ key, field, left: x, right: y });
    }
  }
  return out;
}

export function formatDifference(d: Difference, names: { left: string; right: string } = { left: 'live', right: 'rebuilt' }): string {
  const where = d.field === '*' ? d.key : `${d.key} ${d.field}`;
  return `${where}: ${names.left}=${d.left ?? '(missing)'} ${names.right}=${d.right ?? '(missing)'}`;
}

function describe(fields: Fields): string {
  return `{${Object.keys(fields).length} fields}`;
}
