/**
 * The bench's backlog: many orgs and contacts with Zipf-skewed activity (a few big orgs and
 * a few very active contacts), ~10% machine interactions, ~1% re-sent events, a few opt-outs
 * half-way (gated), and some garbage records. Everything is pre-encoded so producing is cheap,
 * and the totals a correct pipeline must reach are counted while generating (no second pass).
 */

import { randomUUID } from 'node:crypto';
import { emailKey } from '../core/topics.js';
import { EventCodec } from '../schemas/codec.js';
import type { ControlEvent, EmailEvent, EmailSent } from '../schemas/events.js';
import { seededRandom } from '../core/seeded-random.js';
import { zipfSampler } from './zipf.js';

export interface BenchWorkloadOptions {
  /** approximate number of records on the emails topic */
  events: number;
  seed?: number;
  orgs?: number;
  contactsPerOrg?: number;
  /** end of the activity period (default now - 1 h) and its length (default 3 days) */
  endAt?: number;
  periodMs?: number;
}

export interface RawRecord {
  key: string;
  value: Buffer;
  timestamp: string;
}

export interface BenchExpected {
  /** records on the emails topic, garbage included */
  records: number;
  garbage: number;
  /** records the gate lets through (re-sent ones included) */
  collected: number;
  /** records gated out (opt-outs) */
  gatedOut: number;
  /** summed over every org-day rollup */
  opens: number;
  machineOpens: number;
  clicks: number;
  machineClicks: number;
  emails: number;
}

export interface BenchWorkload {
  orgIds: string[];
  control: RawRecord[];
  emails: RawRecord[];
  expected: BenchExpected;
  /** a few (org, email, contact) that exist, for KPI queries */
  samples: Array<{ orgId: string; emailId: string; contactId: string; type: 'contact' | 'lead' }>;
}

const MACHINE_AGENTS = ['Mimecast URL scanner', 'Proofpoint', 'Apple Mail Privacy'];
const HUMAN_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

export function generateBenchWorkload(options: BenchWorkloadOptions): BenchWorkload {
  const rand = seededRandom(options.seed ?? 42);
  const codec = new EventCodec();
  const orgCount = options.orgs ?? Math.max(20, Math.min(500, Math.round(options.events / 4000)));
  const contactsPerOrg = options.contactsPerOrg ?? 2000;
  const end = options.endAt ?? Date.now() - 3_600_000;
  const period = options.periodMs ?? 3 * 86_400_000;
  const start = end - period;
  const run = randomUUID().slice(0, 8);
  const orgIds = Array.from({ length: orgCount }, (_, i) => `bench-${run}-org-${i}`);
  const pickOrg = zipfSampler(orgCount, 1.1, rand);
  const pickContact = zipfSampler(contactsPerOrg, 1.05, rand);

  const control: ControlEvent[] = orgIds.map((orgId) => ({ type: 'OrgEngagementEnabled', eventId: randomUUID(), orgId, occurredAt: start - 3_600_000 }));
  // Opt-outs half-way: contacts 7, 70 and 700 of every tenth org stop allowing following.
  const optOutAt = start + period / 2;
  const optedOut = new Set<string>();
  for (let o = 0; o < orgCount; o += 10) {
    for (const c of [7, 70, 700]) {
      if (c >= contactsPerOrg) continue;
      optedOut.add(`${orgIds[o]}/c-${c}`);
      control.push({ type: 'ContactFollowPreferenceChanged', eventId: randomUUID(), orgId: orgIds[o]!, contactId: `c-${c}`, contactType: 'contact', allow: false, occurredAt: optOutAt });
    }
  }

  const x: BenchExpected = { records: 0, garbage: 0, collected: 0, gatedOut: 0, opens: 0, machineOpens: 0, clicks: 0, machineClicks: 0, emails: 0 };
  const emails: RawRecord[] = [];
  const samples: BenchWorkload['samples'] = [];
  const emailCounter = new Array<number>(orgCount).fill(0);
  const links = [
    { linkId: 'l0', url: 'https://example.com/pricing' },
    { linkId: 'l1', url: 'https://example.com/docs/getting-started' },
    { linkId: 'l2', url: 'https://example.com/blog/2024/launch' },
  ];
  const push = (event: EmailEvent, key: string): void => {
    const value = codec.encode(event);
    emails.push({ key, value, timestamp: String(event.occurredAt) });
    x.records++;
  };

  while (x.records < options.events) {
    const o = pickOrg();
    const orgId = orgIds[o]!;
    const emailId = `e-${emailCounter[o]!++}`;
    const key = emailKey(orgId, emailId);
    const sentAt = start + Math.floor(rand() * (period - 4 * 3_600_000));
    const n = 1 + Math.floor(rand() * rand() * 8);
    const contactIds = [...new Set(Array.from({ length: n }, () => `c-${pickContact()}`))];
    const sent: EmailSent = {
      type: 'EmailSent',
      eventId: randomUUID(),
      orgId,
      occurredAt: sentAt,
      acceptedAt: sentAt,
      emailId,
      senderId: `s-${Math.floor(rand() * 20)}`,
      templateId: rand() < 0.6 ? `tpl-${Math.floor(rand() * 10)}` : null,
      subject: `Quarterly update #${emailCounter[o]}`,
      follow: rand() < 0.95,
      recipients: contactIds.map((contactId) => ({ contactId, contactType: rand() < 0.8 ? 'contact' : 'lead', followed: rand() < 0.9, timeZone: rand() < 0.4 ? 'Europe/Paris' : null })),
      links: links.slice(0, 1 + Math.floor(rand() * 3)),
      attachments: [],
    };
    const list: EmailEvent[] = [sent];
    for (const r of sent.recipients) {
      if (!sent.follow || !r.followed) continue;
      if (samples.length < 200 && rand() < 0.05) samples.push({ orgId, emailId, contactId: r.contactId, type: r.contactType === 'lead' ? 'lead' : 'contact' });
      const base = { orgId, emailId, contactId: r.contactId, ipHash: 'h:3f9a1c', method: 'GET' };
      const after = (): number => sentAt + 30_000 + Math.floor(rand() * 3 * 3_600_000);
      const machine = (): string | null => (rand() < 0.1 ? 'user_agent' : null);
      const opens = Math.floor(rand() * 4);
      for (let i = 0; i < opens; i++) {
        const reason = machine();
        list.push({ type: 'EmailOpened', eventId: randomUUID(), occurredAt: after(), ...base, userAgent: reason ? MACHINE_AGENTS[i % 3]! : rand() < 0.3 ? GMAIL_PROXY : HUMAN_AGENT, machineReason: reason });
      }
      const clicks = Math.floor(rand() * rand() * 4);
      for (let i = 0; i < clicks; i++) {
        const link = sent.links[Math.floor(rand() * sent.links.length)]!;
        const reason = machine();
        list.push({ type: 'LinkClicked', eventId: randomUUID(), occurredAt: after(), ...base, userAgent: reason ? MACHINE_AGENTS[i % 3]! : HUMAN_AGENT, machineReason: reason, linkId: link.linkId, url: link.url });
      }
      if (rand() < 0.05) list.push({ type: 'AttachmentViewed', eventId: randomUUID(), occurredAt: after(), ...base, userAgent: HUMAN_AGENT, machineReason: null, attachmentId: 'a0' });
      if (rand() < 0.08) list.push({ type: 'EmailReplied', eventId: randomUUID(), occurredAt: after(), orgId, emailId, contactId: r.contactId });
    }
    const [head, ...rest] = list;
    rest.sort((a, b) => a.occurredAt - b.occurredAt);
    const bursts = burstClicks(rest, isGated);
    for (const event of [head!, ...rest]) {
      const copies = rand() < 0.01 ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        push(event, key);
        count(event, c === 0, bursts);
      }
    }
    if (rand() < 0.002) {
      emails.push({ key, value: garbage(rand), timestamp: String(end) });
      x.records++;
      x.garbage++;
    }
  }

  return { orgIds, control: control.map((event) => ({ key: event.orgId, value: codec.encode(event), timestamp: String(event.occurredAt) })), emails, expected: x, samples };

  function isGated(event: EmailEvent): boolean {
    return event.type !== 'EmailSent' && event.occurredAt >= optOutAt && optedOut.has(`${event.orgId}/${event.contactId}`);
  }

  function count(event: EmailEvent, first: boolean, bursts: ReadonlySet<string>): void {
    if (isGated(event)) {
      x.gatedOut++;
      return;
    }
    x.collected++;
    if (!first) return;
    if (event.type === 'EmailSent') x.emails++;
    else if (event.type === 'EmailOpened') event.machineReason ? x.machineOpens++ : x.opens++;
    else if (event.type === 'LinkClicked') event.machineReason || bursts.has(event.eventId) ? x.machineClicks++ : x.clicks++;
  }
}

/**
 * The clicks of one email (in log order, which is time order here) that the projector's burst
 * rule calls a machine's (DESIGN §5): every click of a recipient in a second (of occurredAt) in
 * which that recipient clicked two different links. Only clicks no other rule flags take part
 * (the workload's clicks are never too soon after the send), gated ones never reach the fold.
 */
export function burstClicks(events: readonly EmailEvent[], gated: (event: EmailEvent) => boolean): Set<string> {
  const seconds = new Map<string, { links: Set<string>; ids: string[] }>();
  for (const event of events) {
    if (event.type !== 'LinkClicked' || event.machineReason || gated(event)) continue;
    const at = `${event.contactId}/${Math.floor(event.occurredAt / 1000)}`;
    let second = seconds.get(at);
    if (!second) seconds.set(at, (second = { links: new Set(), ids: [] }));
    second.links.add(event.linkId);
    second.ids.push(event.eventId);
  }
  return new Set([...seconds.values()].filter((second) => second.links.size > 1).flatMap((second) => second.ids));
}

/** Records no reader accepts: random bytes, or a valid header with a truncated body. */
function garbage(rand: () => number): Buffer {
  if (rand() < 0.5) return Buffer.from(`not avro ${Math.floor(rand() * 1e9)}`);
  const bytes = Buffer.alloc(12);
  bytes[0] = 0xc3;
  bytes[1] = 0x01;
  for (let i = 2; i < 12; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes;
}
