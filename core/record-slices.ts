/**
 * A broker refuses a record batch larger than its message.max.bytes (1 MiB by default) with
 * MESSAGE_TOO_LARGE, which no retry cures, and kafkajs puts one send's records for a partition in
 * one record batch: a writer that sends many records at once (dead letters, the tracking spool)
 * sends at most this many bytes, half the default, room for the batch's own framing.
 */
export const SEND_BATCH_BYTES = 512 * 1024;
/** What a record adds to its record batch besides key, value and headers, roughly (lengths, offset and timestamp deltas). */
export const RECORD_FRAMING_BYTES = 32;

/**
 * Records cut into runs of at most `maxBytes`, in order (one record larger than that is a run of
 * its own). `sizeOf` defaults to a record's key and value bytes. Pure.
 *
 * Two users: a replay that went on per batch after its in-memory fold still fetches with the fold's
 * large sizes, and each run is one apply-batch.lua call, so a script holds Redis no longer than a
 * resumed build's would; and dead letters go to Kafka in sends below the broker's record-batch limit.
 */
export function recordSlices<R>(records: readonly R[], maxBytes: number, sizeOf: (record: R) => number = keyValueBytes as (record: R) => number): R[][] {
  const slices: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
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

function keyValueBytes(record: { key?: Buffer | null; value?: Buffer | null }): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0);
}
