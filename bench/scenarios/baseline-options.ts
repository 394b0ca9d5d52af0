/**
 * The bare consumer gets the same fetch settings the processors use, so the ratio compares
 * processing, not fetch tuning.
 */
export const BASELINE_CONSUMER_OPTIONS: Record<string, number> = { maxWaitTimeInMs: 500, partitionsConsumedConcurrently: 2 };
