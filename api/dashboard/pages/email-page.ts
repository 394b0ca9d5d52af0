import type { EmailKpis } from '../../../projections/queries/email-kpis.js';
import { horizontalBars, timeline } from '../charts.js';
import { figures, html, table, when, type Html } from '../html.js';
import { rateFigures } from './org-page.js';

/** The email page: recipients, the open → click → reply funnel, clicks per link, the open timeline. */
export function emailPage(k: EmailKpis): Html {
  const funnel = [
    { label: 'followed recipients', value: k.followedRecipients },
    { label: 'opened', value: k.uniqueOpens },
    { label: 'clicked', value: k.uniqueClicks },
    { label: 'replied', value: k.uniqueReplies },
  ];
  const moments = [
    ...(k.sentAt ? [{ label: 'sent', at: k.sentAt }] : []),
    ...(k.firstOpenedAt ? [{ label: 'first open', at: k.firstOpenedAt }] : []),
    ...(k.lastOpenedAt && k.lastOpenedAt !== k.firstOpenedAt ? [{ label: 'last open', at: k.lastOpenedAt }] : []),
  ];
  return html`
<p class="note">${k.subject ?? '(no subject)'} — sender ${k.senderId ?? '—'}${k.templateId ? `, template ${k.templateId}` : ''}, sent ${when(k.sentAt)}</p>
${figures([
  { key: 'recipients', label: 'Recipients', value: k.recipients },
  { key: 'followedRecipients', label: 'Followed', value: k.followedRecipients },
  { key: 'opens', label: 'Opens', value: k.opens },
  { key: 'uniqueOpens', label: 'Unique opens', value: k.uniqueOpens },
  { key: 'clicks', label: 'Clicks', value: k.clicks },
  { key: 'uniqueClicks', label: 'Unique clicks', value: k.uniqueClicks },
  { key: 'replies', label: 'Replies', value: k.replies },
  { key: 'attachmentViews', label: 'Attachment views', value: k.attachmentViews },
  { key: 'machineOpens', label: 'Machine opens', value: k.machineOpens },
  { key: 'machineClicks', label: 'Machine clicks', value: k.machineClicks },
])}
${rateFigures(k)}
<section><h2>Funnel</h2>
${horizontalBars('Recipients who opened, clicked, replied', funnel)}
${table('funnel', 'Funnel (recipients)', ['step', 'recipients'], funnel.map((f) => [f.label, f.value]))}
</section>
<section><h2>Clicks per link</h2>
${horizontalBars('Clicks per link', k.links.map((l) => ({ label: l.url ?? l.linkId, value: l.clicks })))}
${table('links', 'Clicks per link', ['link', 'url', 'clicks', 'unique clicks'], k.links.map((l) => [l.linkId, l.url, l.clicks, l.uniqueClicks]))}
</section>
<section><h2>Open timeline</h2>
${moments.length > 1 ? timeline('Send, first and last open', moments) : html``}
${table('timeline', 'Open timeline', ['moment', 'time (UTC)'], moments.map((m) => [m.label, when(m.at)]))}
</section>`;
}
