/**
 * Where a batch is cut so that no fold holds two lives of one email's hashes.
 *
 * Every email hash expires: at send + HISTORY_DAYS while the send is known (its events up to then
 * are one life), else HISTORY_DAYS after the newest event that wrote it (fold.ts: an interaction
 * past its send's horizon, or of an email whose send the projector never saw). The live run meets
 * that expiry between two events: the hash is gone, and the next event starts it again as an
 * unknown email's. One fold writes one expiry per key, so a batch holding both lives (a quiet
 * partition's fetch in a replay can span weeks, on a small system the whole log) would put the
 * later events into the hashes of the earlier ones, with their counts, flags and send. Folded and
 * applied run by run, in log order, each life gets the hashes it had live (event time standing for
 * the time the live run saw the event, as everywhere in the fold). Pure.
 */
import type { EmailEvent } from '../../schemas/events.js';
import { emailMetaKey, type EmailMetaLookup } from './email-meta.js';

const DAY_MS = 86_400_000;

/** The first instant (ms) at which a hash written by an event at `at` (or a send at `at`) is gone. */
export function horizonOf(at: number, historyDays: number): number {
  return (Math.floor(at / 1000) + historyDays * 86_400) * 1000;
}

/** One life of an email's hashes within a run: the send's (fixed end) or one that moves with its events. */
interface Life {
  send: boolean;
  /** when it ends (ms) */
  until: number;
}

/**
 * `items` in runs, in order: a run ends before an event that would start a new life of an email the
 * run already holds. A first send starts the send's life; a send already known is a retry and
 * writes nothing (fold.ts). Nearly every batch is one run, found without bookkeeping per email:
 * no event past its send's horizon, and the batch's interactions less than HISTORY_DAYS apart.
 */
export function horizonRuns<T extends { event: EmailEvent }>(items: readonly T[], emailMeta: EmailMetaLookup, historyDays: number): T[][] {
  const firstSends = new Map<string, number>();
  const lifeOf = (event: EmailEvent, key: string): Life | undefined => {
    const sentAt = emailMeta.get(key)?.sentAt ?? firstSends.get(key);
    if (event.type === 'EmailSent') {
      if (sentAt !== undefined) return undefined;
      firstSends.set(key, event.occurredAt);
      return { send: true, until: horizonOf(event.occurredAt, historyDays) };
    }
    if (sentAt !== undefined && event.occurredAt < horizonOf(sentAt, historyDays)) return { send: true, until: horizonOf(sentAt, historyDays) };
    return { send: false, until: horizonOf(event.occurredAt, historyDays) };
  };
  let earliest = Infinity;
  let latest = -Infinity;
  let pastSend = false;
  for (const { event } of items) {
    if (event.occurredAt < earliest) earliest = event.occurredAt;
    if (event.occurredAt > latest) latest = event.occurredAt;
    const key = emailMetaKey(event.orgId, event.emailId);
    const sendKnown = emailMeta.has(key) || firstSends.has(key);
    if (lifeOf(event, key)?.send === false && sendKnown) {
      pastSend = true;
      break;
    }
  }
  // a moving life ends HISTORY_DAYS (less a second) after its newest event at the earliest
  if (!pastSend && latest - earliest < historyDays * DAY_MS - 1000) return [[...items]];
  firstSends.clear();
  const runs: T[][] = [];
  let run: T[] = [];
  let lives = new Map<string, Life>();
  for (const item of items) {
    const { event } = item;
    const key = emailMetaKey(event.orgId, event.emailId);
    const life = lifeOf(event, key);
    if (life !== undefined) {
      // `until` follows the hash's expiry as the live scripts set it, event by event: the event that
      // creates the hash gives its own (the send's, or HISTORY_DAYS from a moving one); a moving
      // one moves it later (EXPIREAT GT); the send's fixed one never moves an existing expiry
      // (EXPIREAT NX), so a send reported after its interactions, or an interaction within its
      // send's horizon, joins the life of the hash as it is. Only an event at or past that expiry
      // finds the hash gone: a cut anywhere else would end in a run whose fold writes a hash that
      // the live run kept alive (past at replay time, deleted) and start the rest afresh.
      const current = lives.get(key);
      if (current === undefined) lives.set(key, life);
      else if (event.occurredAt >= current.until) {
        runs.push(run);
        run = [];
        lives = new Map();
        lives.set(key, life);
      } else if (!life.send && life.until > current.until) current.until = life.until;
    }
    run.push(item);
  }
  runs.push(run);
  return runs;
}
