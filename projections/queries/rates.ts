/** A share in 0..1; 0 when nothing could have happened yet. */
export function rate(part: number, whole: number): number {
  if (!(whole > 0)) return 0;
  return Math.min(1, Math.max(0, part / whole));
}

export function toInt(value: string | number | undefined | null): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export function toIso(value: string | undefined | null): string | null {
  if (value === undefined || value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? new Date(n).toISOString() : null;
}

export interface EngagementRates {
  openRate: number;
  clickRate: number;
  clickToOpenRate: number;
  replyRate: number;
}

/** Recipient-level rates: machine interactions never reach these counters. */
export function engagementRates(c: { followedRecipients: number; uniqueOpens: number; uniqueClicks: number; uniqueReplies: number }): EngagementRates {
  return {
    openRate: rate(c.uniqueOpens, c.followedRecipients),
    clickRate: rate(c.uniqueClicks, c.followedRecipients),
    clickToOpenRate: rate(c.uniqueClicks, c.uniqueOpens),
    replyRate: rate(c.uniqueReplies, c.followedRecipients),
  };
}
