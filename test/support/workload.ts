/**
 * A seeded mixed workload and the KPIs it must produce, computed here by a direct simulation of
 * DESIGN §2/§5 (deliberately not by the processors' fold), for the processor, replay and bench
 * tests. Per org: enabled from the start; org 0 is disabled for the middle third of the period
 * and re-enabled; in org 1 (or 0) contact c-0 opts out half-way. Some events are sent twice
 * (same eventId), some interactions are machines (flagged, or a click right after the send).
 */

import { seededRandom } from '../../core/seeded-random.js';
import { hourOfWeekIn } from '../../projections/local-hour.js';
import type { AnyEvent, ControlEvent, EmailEvent, EmailSent, InteractionEvent } from '../../schemas/events.js';

export interface WorkloadOptions {
  orgs: number;
  emailsPerOrg: number;
  /** max recipients per email, drawn from a pool of 3x that many contacts per org */
  recipients: number;
  seed: number;
  /** start of the period (default: 2 days before now, rounded to the hour) */
  startAt?: number;
  /** length of the period in ms (default 36 h, so several days are involved) */
  periodMs?: number;
  /** share of email events sent twice (default 0.03) */
  duplicateRate?: number;
  /** the disable/re-enable window on org 0 and the opt-out (default true) */
  privacySwitches?: boolean;
  machineClickSeconds?: number;
  idPrefix?: string;
}

export type Fields = Record<string, string>;

export interface ExpectedKpis {
  /** `${org}/${email}` -> email hash (meta and non-zero counters) */
  emails: Map<string, Fields>;
  /** `${org}/${day}` and `${org}/${sender|template}/${day}` -> rollup hash */
  orgDays: Map<string, Fields>;
  senderDays: Map<string, Fields>;
  templateDays: Map<string, Fields>;
  /** `${org}/${contact}/${day}` -> received/opened/clicked/replied */
  contactDays: Map<string, Fields>;
  /** `${org}/${contact}` -> tz */
  contacts: Map<string, Fields>;
  /** `${org}/${contact}/${YYYYMM}` -> hl:<local hour-of-week slot> opens (best time), lastOpenedAt */
  contactHours: Map<string, Fields>;
  /** eventIds of every collected record, one entry per record (re-sent events appear twice) */
  landed: string[];
  /** eventIds of interactions that must appear nowhere (disabled window / after the opt-out) */
  excluded: Set<string>;
  gatedOutRecords: { org_disabled: number; contact_opted_out: number; org_purged: number; subscription_ended: number; control_unreadable: number };
}

export interface Workload {
  control: ControlEvent[];
  /** email events in produce order (an email's events in time order, duplicates right after) */
  emails: EmailEvent[];
  events: AnyEvent[];
  expected: ExpectedKpis;
}

function uuidFrom(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

export function generateWorkload(options: WorkloadOptions): Workload {
  const rand = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const id = options.idPrefix ?? `w${options.seed}`;
  const period = options.periodMs ?? 36 * 3_600_000;
  const start = options.startAt ?? Math.floor((Date.now() - 2 * 86_400_000) / 3_600_000) * 3_600_000;
  const dupRate = options.duplicateRate ?? 0.03;
  const machineMs = (options.machineClickSeconds ?? 5) * 1000;
  const switches = options.privacySwitches ?? true;
  const newId = (): string => uuidFrom(rand);
  const orgIds = Array.from({ length: options.orgs }, (_, i) => `${id}-org-${i}`);

  // --- control: who is enabled when -------------------------------------------------------
  const control: ControlEvent[] = [];
  const disabledWindow = { from: start + period / 3, to: start + (2 * period) / 3 };
  const optOut = { org: orgIds[Math.min(1, orgIds.length - 1)]!, contact: 'c-0', at: start + period / 2 };
  for (const orgId of orgIds) control.push({ type: 'OrgEngagementEnabled', eventId: newId(), orgId, occurredAt: start - 3_600_000 });
  if (switches) {
    control.push({ type: 'OrgEngagementDisabled', eventId: newId(), orgId: orgIds[0]!, occurredAt: disabledWindow.from });
    control.push({ type: 'OrgEngagementEnabled', eventId: newId(), orgId: orgIds[0]!, occurredAt: disabledWindow.to });
    control.push({ type: 'ContactFollowPreferenceChanged', eventId: newId(), orgId: optOut.org, contactId: optOut.contact, contactType: 'contact', allow: false, occurredAt: optOut.at });
  }
  const orgEnabled = (orgId: string, at: number): boolean =>
    !(switches && orgId === orgIds[0] && at >= disabledWindow.from && at < disabledWindow.to);
  const contactAllows = (orgId: string, contactId: string, at: number): boolean =>
    !(switches && orgId === optOut.org && contactId === optOut.contact && at >= optOut.at);

  // --- email events ---------------------------------------------------------------------------
  const emails: EmailEvent[] = [];
  const client = { userAgent: 'Mozilla/5.0', ipHash: 'ip-h', method: 'GET' };
  for (const orgId of orgIds) {
    for (let e = 0; e < options.emailsPerOrg; e++) {
      const emailId = `e-${e}`;
      const sentAt = start + Math.floor(rand() * (period - 4 * 3_600_000));
      const n = 1 + Math.floor(rand() * options.recipients);
      const pool = Array.from({ length: options.recipients * 3 }, (_, i) => `c-${i}`);
      const contacts = [...new Set(Array.from({ length: n }, () => pick(pool)))];
      const sent: EmailSent = {
        type: 'EmailSent',
        eventId: newId(),
        orgId,
        occurredAt: sentAt,
        acceptedAt: sentAt,
        emailId,
        senderId: `s-${Math.floor(rand() * 3)}`,
        templateId: rand() < 0.7 ? `tpl-${Math.floor(rand() * 2)}` : null,
        subject: rand() < 0.9 ? `Subject ${e}` : null,
        follow: rand() < 0.95,
        recipients: contacts.map((contactId) => ({
          contactId,
          contactType: 'contact' as const,
          followed: rand() < 0.9,
          timeZone: rand() < 0.5 ? 'Europe/Paris' : null,
        })),
        links: [
          { linkId: 'l0', url: 'https://example.com/a' },
          { linkId: 'l1', url: 'https://example.com/b' },
        ],
        attachments: [],
      };
      const list: EmailEvent[] = [sent];
      for (const r of sent.recipients) {
        if (!sent.follow || !r.followed) continue;
        const base = { orgId, emailId, contactId: r.contactId };
        const after = (): number => sentAt + 10_000 + Math.floor(rand() * 3 * 3_600_000);
        const opens = Math.floor(rand() * 4);
        for (let i = 0; i < opens; i++) {
          list.push({ type: 'EmailOpened', eventId: newId(), occurredAt: after(), ...base, ...client, machineReason: rand() < 0.05 ? 'proxy' : null });
        }
        const clicks = Math.floor(rand() * 3);
        // A person's clicks of one email fall in distinct seconds: two links in one second are a burst
        // (the projector's rule, tested in click-bursts specs), which this model does not fold.
        const clickSeconds = new Set<number>();
        const clickAt = (): number => {
          let at = after();
          while (clickSeconds.has(Math.floor(at / 1000))) at += 1000;
          clickSeconds.add(Math.floor(at / 1000));
          return at;
        };
        for (let i = 0; i < clicks; i++) {
          const link = pick(sent.links);
          const fast = rand() < 0.05;
          list.push({
            type: 'LinkClicked',
            eventId: newId(),
            occurredAt: fast ? sentAt + Math.floor(rand() * machineMs) : clickAt(),
            ...base,
            ...client,
            linkId: link.linkId,
            url: link.url,
            machineReason: rand() < 0.03 ? 'scanner' : null,
          });
        }
        if (rand() < 0.2) list.push({ type: 'AttachmentViewed', eventId: newId(), occurredAt: after(), ...base, ...client, attachmentId: 'a0', machineReason: null });
        if (rand() < 0.15) list.push({ type: 'EmailReplied', eventId: newId(), occurredAt: after(), ...base });
      }
      const [head, ...rest] = list;
      rest.sort((a, b) => a.occurredAt - b.occurredAt);
      for (const event of [head!, ...rest]) {
        emails.push(event);
        if (rand() < dupRate) emails.push(event);
      }
    }
  }

  // --- expected: a direct simulation ----------------------------------------------------------
  const x: ExpectedKpis = {
    emails: new Map(),
    orgDays: new Map(),
    senderDays: new Map(),
    templateDays: new Map(),
    contactDays: new Map(),
    contactHours: new Map(),
    contacts: new Map(),
    landed: [],
    excluded: new Set(),
    gatedOutRecords: { org_disabled: 0, contact_opted_out: 0, org_purged: 0, subscription_ended: 0, control_unreadable: 0 },
  };
  const hash = (map: Map<string, Fields>, key: string): Fields => {
    let h = map.get(key);
    if (!h) map.set(key, (h = {}));
    return h;
  };
  const inc = (h: Fields, field: string, by = 1): void => {
    h[field] = String(Number(h[field] ?? 0) + by);
  };
  const meta = new Map<string, { senderId: string; templateId: string | null; sentAt: number }>();
  /** "<org>/<email>/<contact>" -> the zone the send gave the recipient: opens count on that clock */
  const zones = new Map<string, string>();
  const seen = new Set<string>();
  const once = new Set<string>();
  const rollups = (orgId: string, d: string, m: { senderId: string; templateId: string | null } | undefined): Fields[] => {
    const out = [hash(x.orgDays, `${orgId}/${d}`)];
    if (m) {
      out.push(hash(x.senderDays, `${orgId}/${m.senderId}/${d}`));
      if (m.templateId !== null) out.push(hash(x.templateDays, `${orgId}/${m.templateId}/${d}`));
    }
    return out;
  };
  for (const event of emails) {
    const collected = orgEnabled(event.orgId, event.occurredAt) && (event.type === 'EmailSent' || contactAllows(event.orgId, event.contactId, event.occurredAt));
    if (!collected) {
      const reason = orgEnabled(event.orgId, event.occurredAt) ? 'contact_opted_out' : 'org_disabled';
      x.gatedOutRecords[reason]++;
      if (event.type !== 'EmailSent') x.excluded.add(event.eventId);
      continue;
    }
    x.landed.push(event.eventId);
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    const d = day(event.occurredAt);
    const emailKey = `${event.orgId}/${event.emailId}`;
    const email = hash(x.emails, emailKey);
    if (event.type === 'EmailSent') {
      meta.set(emailKey, { senderId: event.senderId, templateId: event.templateId, sentAt: event.occurredAt });
      Object.assign(email, { sentAt: String(event.occurredAt), senderId: event.senderId });
      if (event.templateId !== null) email.templateId = event.templateId;
      if (event.subject !== null) email.subject = event.subject;
      const followed = event.follow ? event.recipients.filter((r) => r.followed) : [];
      inc(email, 'recipients', event.recipients.length);
      if (followed.length > 0) inc(email, 'followedRecipients', followed.length);
      for (const h of rollups(event.orgId, d, event)) {
        inc(h, 'emails');
        inc(h, 'recipients', event.recipients.length);
        if (followed.length > 0) inc(h, 'followedRecipients', followed.length);
      }
      for (const r of followed) {
        if (r.timeZone) zones.set(`${emailKey}/${r.contactId}`, r.timeZone);
        if (!once.has(`${emailKey}/f/${r.contactId}`)) {
          once.add(`${emailKey}/f/${r.contactId}`);
          inc(hash(x.contactDays, `${event.orgId}/${r.contactId}/${d}`), 'received');
        }
        if (r.timeZone) hash(x.contacts, `${event.orgId}/${r.contactId}`).tz = r.timeZone;
      }
      continue;
    }
    const m = meta.get(emailKey);
    const ups = rollups(event.orgId, d, m);
    const interaction = event as InteractionEvent;
    const first = (what: string): boolean => {
      const k = `${emailKey}/${what}/${interaction.contactId}`;
      if (once.has(k)) return false;
      once.add(k);
      return true;
    };
    const contactDay = (): Fields => hash(x.contactDays, `${event.orgId}/${interaction.contactId}/${d}`);
    if (interaction.type === 'EmailOpened') {
      if (interaction.machineReason) {
        [email, ...ups].forEach((h) => inc(h, 'machineOpens'));
        continue;
      }
      inc(email, 'opens');
      email.firstOpenedAt = String(Math.min(Number(email.firstOpenedAt ?? Infinity), event.occurredAt));
      email.lastOpenedAt = String(Math.max(Number(email.lastOpenedAt ?? 0), event.occurredAt));
      ups.forEach((h) => inc(h, 'opens'));
      if (first('o')) {
        [email, ...ups].forEach((h) => inc(h, 'uniqueOpens'));
        inc(contactDay(), 'opened');
      }
      const hours = hash(x.contactHours, `${event.orgId}/${interaction.contactId}/${d.slice(0, 6)}`);
      hours.lastOpenedAt = String(Math.max(Number(hours.lastOpenedAt ?? 0), event.occurredAt));
      inc(hours, `hl:${hourOfWeekIn(event.occurredAt, zones.get(`${emailKey}/${interaction.contactId}`) ?? null)}`);
    } else if (interaction.type === 'LinkClicked') {
      if (interaction.machineReason || (m && event.occurredAt - m.sentAt < machineMs)) {
        [email, ...ups].forEach((h) => inc(h, 'machineClicks'));
        continue;
      }
      inc(email, 'clicks');
      inc(email, `lc:${interaction.linkId}`);
      email[`url:${interaction.linkId}`] = interaction.url;
      ups.forEach((h) => inc(h, 'clicks'));
      if (first('c')) {
        [email, ...ups].forEach((h) => inc(h, 'uniqueClicks'));
        inc(contactDay(), 'clicked');
      }
      if (first(`c:${interaction.linkId}`)) inc(email, `lu:${interaction.linkId}`);
    } else if (interaction.type === 'AttachmentViewed') {
      if (interaction.machineReason) continue;
      [email, ...ups].forEach((h) => inc(h, 'attachmentViews'));
    } else {
      inc(email, 'replies');
      if (first('r')) {
        inc(email, 'uniqueReplies');
        ups.forEach((h) => inc(h, 'replies'));
        inc(contactDay(), 'replied');
      }
    }
  }
  return { control, emails, events: [...control, ...emails], expected: x };
}
