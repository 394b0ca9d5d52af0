/**
 * The click-burst rule (DESIGN §5), the one implementation: several links of one email clicked by
 * one recipient within the same second (of occurredAt) are all a machine's, the first included.
 * Clicks come in log order (one email is on one partition), so this is a state machine over the
 * log, whatever the batch boundaries: live equals replay. State per recipient, field `k:<recipient>`
 * of the email's flags hash:
 *   "<second>\n<mode h|b>\n<u>\n(<link>\n<count>\n<lu>\n)*"
 * for the latest second in which the recipient clicked: the clicks counted as a person's per link,
 * whether they set the recipient's unique-click flag (u) and each link's (lu). When a second link
 * joins that second, those clicks are moved to machineClicks: clicks, lc:<link>, the rollups'
 * clicks are taken back, and a unique flag they set is removed with its count (uniqueClicks of the
 * email and rollups, the contact day's clicked, lu:<link>), so a later click by a person counts as
 * that recipient's first again.
 *
 * Pure: the caller's store holds the state (the live projector: what Redis held before the batch,
 * read first; a replay: its fold in memory) and takes the writes.
 */

/**
 * A click no other rule calls a machine's: counted as a person's, or as a machine's when another
 * link of the email was clicked by the recipient in the same second (and then what that second
 * counted as a person's is taken back). Keys are full key names.
 */
export interface BurstClick {
  flags: string;
  email: string;
  contactDay: string;
  /** recipientRef of the clicker */
  recipient: string;
  /** escaped linkId */
  link: string;
  /** floor(occurredAt / 1000) */
  second: number;
  /** the org / sender / template day rollups the click counts in */
  rollups: readonly string[];
}

export interface ClickStore {
  /** the `k:<recipient>` state string, undefined when there is none */
  state(flagsKey: string, field: string): string | undefined;
  setState(flagsKey: string, field: string, value: string): void;
  /** sets a first-time flag; true when it was not set (HSETNX) */
  flag(flagsKey: string, field: string): boolean;
  /** removes a flag that is set */
  unflag(flagsKey: string, field: string): void;
  increment(key: string, field: string, by: number): void;
}

/** One click through the rule. Returns the number of first-time flags it set. */
export function applyClick(store: ClickStore, click: BurstClick): number {
  const { flags: fk, email: ek, contactDay: cdk, recipient: c, link, rollups: ups } = click;
  const second = String(click.second);
  const field = `k:${c}`;
  const raw = store.state(fk, field);
  // every piece followed by a newline; text after the last one is not a part
  const parts = raw === undefined ? [] : raw.split('\n').slice(0, -1);
  if (parts[0] === second && parts[1] === 'b') {
    machineClick(store, ek, ups);
    return 0;
  }
  if (parts[0] !== second) {
    const person = personClick(store, click);
    store.setState(fk, field, `${second}\nh\n${person.u}\n${link}\n1\n${person.lu}\n`);
    return person.newFlags;
  }
  let other = false;
  for (let i = 3; i < parts.length; i += 3) if (parts[i] !== link) other = true;
  if (!other) {
    // the same link again within the second (a double click): still a person's
    const person = personClick(store, click);
    parts[2] = parts[2] === '1' || person.u === 1 ? '1' : '0';
    for (let i = 3; i < parts.length; i += 3) {
      if (parts[i] !== link) continue;
      parts[i + 1] = String(Number(parts[i + 1]) + 1);
      if (person.lu === 1) parts[i + 2] = '1';
    }
    store.setState(fk, field, `${parts.join('\n')}\n`);
    return person.newFlags;
  }
  // the burst is recognised: what this second counted as a person's becomes a machine's
  for (let i = 3; i < parts.length; i += 3) {
    const l = parts[i]!;
    const count = Number(parts[i + 1]);
    store.increment(ek, 'clicks', -count);
    store.increment(ek, `lc:${l}`, -count);
    store.increment(ek, 'machineClicks', count);
    for (const up of ups) {
      store.increment(up, 'clicks', -count);
      store.increment(up, 'machineClicks', count);
    }
    if (parts[i + 2] === '1') {
      store.unflag(fk, `c:${l}:${c}`);
      store.increment(ek, `lu:${l}`, -1);
    }
  }
  if (parts[2] === '1') {
    store.unflag(fk, `c:${c}`);
    store.increment(ek, 'uniqueClicks', -1);
    for (const up of ups) store.increment(up, 'uniqueClicks', -1);
    store.increment(cdk, 'clicked', -1);
  }
  machineClick(store, ek, ups);
  store.setState(fk, field, `${second}\nb\n0\n`);
  return 0;
}

/** The flags-hash fields the rule reads for `click` (the live projector reads them before the batch). */
export function clickFields(click: BurstClick): string[] {
  return [`k:${click.recipient}`, `c:${click.recipient}`, `c:${click.link}:${click.recipient}`];
}

function machineClick(store: ClickStore, ek: string, ups: readonly string[]): void {
  store.increment(ek, 'machineClicks', 1);
  for (const up of ups) store.increment(up, 'machineClicks', 1);
}

/** A person's click: its counters and first-time flags (u: the recipient's first click of the email, lu: of the link). */
function personClick(store: ClickStore, click: BurstClick): { u: number; lu: number; newFlags: number } {
  const { flags: fk, email: ek, contactDay: cdk, recipient: c, link, rollups: ups } = click;
  store.increment(ek, 'clicks', 1);
  store.increment(ek, `lc:${link}`, 1);
  for (const up of ups) store.increment(up, 'clicks', 1);
  let u = 0;
  let lu = 0;
  if (store.flag(fk, `c:${c}`)) {
    u = 1;
    store.increment(ek, 'uniqueClicks', 1);
    for (const up of ups) store.increment(up, 'uniqueClicks', 1);
    store.increment(cdk, 'clicked', 1);
  }
  if (store.flag(fk, `c:${link}:${c}`)) {
    lu = 1;
    store.increment(ek, `lu:${link}`, 1);
  }
  return { u, lu, newFlags: u + lu };
}
