/**
 * A fetched batch cut into runs of at most `maxBytes` of keys and values, in order (one record
 * larger than that is a run of its own). A replay that went on per batch after its in-memory fold
 * still fetches with the fold's large sizes: each run is one apply-batch.lua call, so a script
 * holds Redis no longer than a resumed build's would. Pure.
 */
export function recordSlices<R extends { key?: Buffer | null; value?: Buffer | null }>(records: readonly R[], maxBytes: number): R[][] {
  const slices: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
    if (current.length > 0 && bytes + size > maxBytes) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
