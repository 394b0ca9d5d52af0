/**
 * Where a batch is cut so that no fold holds one email's events from both sides of its horizon
 * (send + HISTORY_DAYS).
 *
 * The live run meets an email's horizon between two of its events: the hashes its send and its
 * earlier interactions wrote expire there, and an interaction after it finds them gone and starts
 * them again as an unknown email's (fold.ts). One fold writes one expiry per key, so a batch holding
 * both sides (a quiet partition's fetch in a replay can span weeks, a whole log on a small system)
 * would put the later interactions into the hashes of the earlier ones, with their counts, flags and
 * send. Folded and applied run by run, in log order, each side gets the hashes it had live. Pure.
 */
import type { EmailEvent } from '../../schemas/events.js';
import { emailMetaKey, type EmailMetaLookup } from './email-meta.js';

const DAY_SECONDS = 86_400;

/** The first instant (ms) at which an interaction with an email sent at `sentAt` is past its horizon. */
export function horizonOf(sentAt: number, historyDays: number): number {
  return (Math.floor(sentAt / 1000) + historyDays * DAY_SECONDS) * 1000;
}

/**
 * `items` in runs, in order: a run ends before an event that would put an email on the other side
 * of its horizon than an earlier event of the same run. A first send is on the near side (its
 * hashes expire at the horizon); a send already known is a retry and writes nothing (fold.ts); an
 * interaction with an email whose send is unknown has no side (its hashes move with it anyway).
 * Nearly every batch is one run, found in one pass without any bookkeeping per email.
 */
export function horizonRuns<T extends { event: EmailEvent }>(items: readonly T[], emailMeta: EmailMetaLookup, historyDays: number): T[][] {
  const firstSends = new Map<string, number>();
  const sentAtOf = (key: string): number | undefined => emailMeta.get(key)?.sentAt ?? firstSends.get(key);
  /** true past the horizon, false before it, undefined without a side */
  const sideOf = (event: EmailEvent): boolean | undefined => {
    const key = emailMetaKey(event.orgId, event.emailId);
    const sentAt = sentAtOf(key);
    if (event.type !== 'EmailSent') return sentAt === undefined ? undefined : event.occurredAt >= horizonOf(sentAt, historyDays);
    if (sentAt !== undefined) return undefined;
    firstSends.set(key, event.occurredAt);
    return false;
  };
  if (!items.some(({ event }) => sideOf(event) === true)) return [[...items]];
  firstSends.clear();
  const runs: T[][] = [];
  let run: T[] = [];
  let sides = new Map<string, boolean>();
  for (const item of items) {
    const side = sideOf(item.event);
    if (side !== undefined) {
      const key = emailMetaKey(item.event.orgId, item.event.emailId);
      const before = sides.get(key);
      if (before !== undefined && before !== side) {
        runs.push(run);
        run = [];
        sides = new Map();
      }
      sides.set(key, side);
    }
    run.push(item);
  }
  runs.push(run);
  return runs;
}
