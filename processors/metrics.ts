/**
 * Processor counters on the default registry (served by GET /metrics). Created once per process
 * even when several processor handles start in one test process.
 */

import { Counter, register } from 'prom-client';

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  const existing = register.getSingleMetric(name) as Counter<L> | undefined;
  return existing ?? new Counter<L>({ name, help, labelNames: [...labelNames] });
}

export const metrics = {
  processed: counter('engagement_processor_events_total', 'Records read by a processor role', ['role'] as const),
  gatedOut: counter(
    'engagement_processor_gated_out_total',
    'Events rejected by the privacy gate, by reason (org_disabled, contact_opted_out, org_purged, subscription_ended, control_unreadable)',
    ['role', 'reason'] as const,
  ),
  deadLettered: counter('engagement_processor_dead_letters_total', 'Records sent to the dead-letter topic, by code', ['code'] as const),
  duplicates: counter('engagement_projector_duplicates_total', 'Events skipped because their eventId was already applied', []),
  fenceConflicts: counter('engagement_projector_fence_conflicts_total', 'Batches refused by the offset fence (another instance moved on)', []),
  projectionRebuilds: counter(
    'engagement_projector_rebuilds_total',
    'Times the projector found Redis had lost projection writes (offsets missing or behind, version pointer missing) and re-read the log',
    ['reason'] as const,
  ),
  controlRecordsFailed: counter(
    'engagement_control_records_failed_total',
    'Control records that could not be decoded or validated (each blocks its organisation until resolved), by code',
    ['code'] as const,
  ),
  controlStoreRebuilds: counter('engagement_control_store_rebuilds_total', 'Times the control store was found gone from Redis and rewritten from the control topic', []),
  replayHolds: counter('engagement_projector_replay_holds_total', 'Batches the live projector deferred while a replay held the projection to switch it', []),
  blobsUploaded: counter('engagement_lander_blobs_uploaded_total', 'Avro files written to blob storage', []),
  blobBytes: counter('engagement_lander_blob_bytes_total', 'Bytes of Avro files sent to blob storage (whole files and the blocks that extend them)', []),
  blobRetries: counter('engagement_lander_upload_retries_total', 'Blob upload attempts that failed and were retried', []),
};
