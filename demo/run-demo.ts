import type { ContactKpis } from '../projections/queries/contact-kpis.js';
import type { EmailKpis } from '../projections/queries/email-kpis.js';
import type { RollupKpis } from '../projections/queries/rollup-kpis.js';
import { ApiClient, track } from './http-client.js';
import { demoContacts, demoHistory } from './history.js';

const HOUR = 3_600_000;
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const SCANNER = 'Mimecast URL Protect';

interface SendAnswer {
  emailId: string;
  followed: boolean;
  recipients: Array<{ contactId: string; followed: boolean; openPixelUrl?: string; links?: Array<{ url: string; trackedUrl: string }> }>;
}

export interface DemoResult {
  orgId: string;
  liveEmailId: string;
  email: EmailKpis;
  contact: ContactKpis;
  org: RollupKpis;
}

export interface DemoOptions {
  baseUrl: string;
  adminKey: string;
  orgId?: string;
  now?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * The newcomer's tour, entirely through the public HTTP API of a running service: enable an
 * org, backfill four weeks of history, send a followed email live, open and click it like
 * people (and like a scanner would), opt a contact out, reply, then read the KPIs back.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now();
  const orgId = options.orgId ?? `demo-${now.toString(36)}`;
  const api = new ApiClient(options.baseUrl.replace(/\/+$/, ''), options.adminKey);
  const contacts = demoContacts(30);

  log(`organisation ${orgId}: enabling email engagement`);
  await api.ok('PUT', `/v1/orgs/${orgId}/engagement`, { enabled: true });

  const history = demoHistory({ orgId, contacts, now });
  log(`backfilling ${history.length} historical events (four weeks) through POST /v1/events`);
  const ingest = await api.ok<{ results: Array<{ status: string }> }>('POST', '/v1/events', history);
  const rejected = ingest.results.filter((r) => r.status !== 'accepted');
  if (rejected.length > 0) throw new Error(`history backfill: ${rejected.length} events rejected: ${JSON.stringify(rejected[0])}`);

  const optedOut = contacts[29]!;
  log(`${optedOut.contactId} opts out of email following`);
  await api.ok('PUT', `/v1/orgs/${orgId}/contacts/${optedOut.contactId}/follow-email`, { allow: false, type: optedOut.type });

  const liveEmailId = `live-${now.toString(36)}`;
  const liveRecipients = contacts.slice(18);
  log(`sending followed email ${liveEmailId} to ${liveRecipients.length} recipients`);
  const sent = await api.ok<SendAnswer>('POST', `/v1/orgs/${orgId}/emails`, {
    emailId: liveEmailId,
    senderId: 'alice',
    templateId: 'follow-up',
    subject: 'Your personalised offer',
    sentAt: new Date(now - HOUR).toISOString(),
    recipients: liveRecipients.map((c) => ({ contactId: c.contactId, type: c.type, timeZone: c.timeZone })),
    links: [{ url: 'https://example.com/offer' }, { url: 'https://example.com/book-a-call' }],
    follow: true,
  });
  const followed = sent.recipients.filter((r) => r.followed);
  log(`  ${followed.length} followed, ${sent.recipients.length - followed.length} not followed (preference)`);

  let opens = 0;
  let clicks = 0;
  for (const [i, r] of followed.entries()) {
    if (i % 4 === 3) continue;
    await track(r.openPixelUrl!, { userAgent: i % 3 === 0 ? GMAIL_PROXY : BROWSER });
    opens++;
    if (i % 2 === 0) {
      await track(r.openPixelUrl!, { userAgent: BROWSER });
      opens++;
    }
    if (i % 3 === 1) {
      await track(r.links![i % 2]!.trackedUrl, { userAgent: BROWSER });
      clicks++;
    }
  }
  const probe = followed[0]!;
  await track(probe.openPixelUrl!, { userAgent: BROWSER, method: 'HEAD' });
  await track(probe.links![0]!.trackedUrl, { userAgent: SCANNER });
  log(`  ${opens} opens and ${clicks} clicks by people, 1 HEAD open and 1 scanner click by machines`);
  await api.ok('POST', '/v1/events', [{ type: 'EmailReplied', orgId, emailId: liveEmailId, contactId: followed[1]!.contactId }]);
  log('  1 reply reported by the CRM');

  log('waiting for the pipeline to project the live email...');
  const email = await pollUntil(options.timeoutMs ?? 60_000, async () => {
    const result = await api.call<EmailKpis>('GET', `/v1/orgs/${orgId}/emails/${liveEmailId}/kpis`);
    const body = result.body;
    const done = result.status === 200 && body.opens === opens && body.clicks === clicks && body.replies === 1 && body.machineOpens === 1 && body.machineClicks === 1;
    return done ? body : undefined;
  });
  // The backfill sits on other partitions than the live email: wait until every send and open is counted.
  const sends = history.filter((e) => e.type === 'EmailSent').length + 1;
  const allOpens = history.filter((e) => e.type === 'EmailOpened').length + opens + 1;
  log(`waiting for the pipeline to project the history (${sends} emails, ${allOpens} opens)...`);
  const org = await pollUntil(options.timeoutMs ?? 60_000, async () => {
    const result = await api.call<RollupKpis>('GET', `/v1/orgs/${orgId}/kpis`);
    const body = result.body;
    return result.status === 200 && body.emails === sends && body.opens + body.machineOpens === allOpens ? body : undefined;
  });
  // The recipient who opened most in the history: the one with a best time to email to show.
  const opensOf = (id: string): number => history.filter((e) => e.type === 'EmailOpened' && e.contactId === id).length;
  const busiest = [...contacts.slice(0, 29)].sort((a, b) => opensOf(b.contactId) - opensOf(a.contactId))[0]!;
  // Contacts, leads and accounts are separate namespaces: read the recipient where it lives.
  const contact = await api.ok<ContactKpis>('GET', `/v1/orgs/${orgId}/${busiest.type}s/${busiest.contactId}/kpis?days=30`);
  return { orgId, liveEmailId, email, contact, org };
}

async function pollUntil<T>(timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`the pipeline did not project the demo within ${timeoutMs / 1000}s: are the processors running (\`npm start\`)?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
