import type { RollupKpis } from '../../../projections/queries/rollup-kpis.js';
import { TOP_SCAN_LIMIT, type OrgTop, type TopGroup } from '../../../projections/queries/org-top.js';
import { stackedBars } from '../charts.js';
import { figures, html, percent, raw, table, when, type Html } from '../html.js';
import { dashboardPaths as paths } from '../paths.js';

export function rateFigures(k: { openRate: number; clickRate: number; clickToOpenRate?: number; replyRate: number }): Html {
  return figures([
    { key: 'openRate', label: 'Open rate', value: percent(k.openRate) },
    { key: 'clickRate', label: 'Click rate', value: percent(k.clickRate) },
    ...(k.clickToOpenRate === undefined ? [] : [{ key: 'clickToOpenRate', label: 'Click-to-open rate', value: percent(k.clickToOpenRate) }]),
    { key: 'replyRate', label: 'Reply rate', value: percent(k.replyRate) },
  ]);
}

function groupTable(id: string, caption: string, idHead: string, rows: readonly TopGroup[]): Html {
  return table(id, caption, [idHead, 'emails', 'followed', 'unique opens', 'unique clicks', 'replies', 'open rate', 'click rate', 'reply rate'], rows.map((g) => [
    g.id,
    g.emails,
    g.followedRecipients,
    g.uniqueOpens,
    g.uniqueClicks,
    g.uniqueReplies,
    percent(g.openRate),
    percent(g.clickRate),
    percent(g.replyRate),
  ]));
}

/** The organisation page: daily series (people and machines apart), the rates, the rankings. */
export function orgPage(k: RollupKpis, top: OrgTop): Html {
  const org = k.orgId;
  const series = (people: (d: RollupKpis['daily'][number]) => number, machines: (d: RollupKpis['daily'][number]) => number) =>
    k.daily.map((d) => ({ label: d.date, people: people(d), machines: machines(d) }));
  return html`
<form class="range" method="get" action="${paths.org(org)}">
  <label>From <input type="date" name="from" value="${k.from}"></label>
  <label>To <input type="date" name="to" value="${k.to}"></label>
  <button type="submit">Show</button>
</form>
<p class="note">${k.from} to ${k.to} (UTC days). People and machines (mail-privacy proxies, link scanners) are counted apart; rates leave machines out.</p>
${figures([
  { key: 'emails', label: 'Emails', value: k.emails },
  { key: 'followedRecipients', label: 'Followed recipients', value: k.followedRecipients },
  { key: 'opens', label: 'Opens', value: k.opens },
  { key: 'uniqueOpens', label: 'Unique opens', value: k.uniqueOpens },
  { key: 'clicks', label: 'Clicks', value: k.clicks },
  { key: 'uniqueClicks', label: 'Unique clicks', value: k.uniqueClicks },
  { key: 'uniqueReplies', label: 'Replies', value: k.uniqueReplies },
  { key: 'machineOpens', label: 'Machine opens', value: k.machineOpens },
  { key: 'machineClicks', label: 'Machine clicks', value: k.machineClicks },
])}
${rateFigures(k)}
<section><h2>Daily</h2>
<div class="charts">
${stackedBars('Opens per day', series((d) => d.opens, (d) => d.machineOpens))}
${stackedBars('Clicks per day', series((d) => d.clicks, (d) => d.machineClicks))}
${stackedBars('Replies per day', series((d) => d.uniqueReplies, () => 0), false)}
</div>
<details><summary>The charts as a table</summary>
${table('daily', 'Daily series', ['date', 'emails', 'opens', 'machine opens', 'clicks', 'machine clicks', 'replies'], k.daily.map((d) => [d.date, d.emails, d.opens, d.machineOpens, d.clicks, d.machineClicks, d.uniqueReplies]))}
</details>
</section>
<section><h2>Top emails</h2>
${table('top-emails', 'Top emails by unique opens', ['email', 'subject', 'sent', 'followed', 'unique opens', 'unique clicks', 'replies', 'open rate'], top.emails.map((e) => [
  raw(`<a href="${paths.email(org, e.emailId)}">${html`${e.emailId}`.html}</a>`),
  e.subject,
  when(e.sentAt),
  e.followedRecipients,
  e.uniqueOpens,
  e.uniqueClicks,
  e.uniqueReplies,
  percent(e.openRate),
]))}
${top.truncated ? html`<p class="note" data-testid="truncated">This organisation has more than ${TOP_SCAN_LIMIT.toLocaleString('en')} keys; the rankings cover only the first ${TOP_SCAN_LIMIT.toLocaleString('en')} examined, so some emails, senders or templates may be missing.</p>` : html``}
</section>
<section><h2>Top senders and templates</h2>
${groupTable('top-senders', 'Top senders by unique opens', 'sender', top.senders)}
${groupTable('top-templates', 'Top templates by unique opens', 'template', top.templates)}
</section>
<section><h2>Find</h2>
<form class="find" method="get" action="${paths.find(org)}"><label>Email id <input name="emailId" required></label><button type="submit">Open email</button></form>
<form class="find" method="get" action="${paths.find(org)}"><label>Recipient id <input name="recipient" required></label>
<label>Type <select name="type"><option>contact</option><option>lead</option><option>account</option></select></label><button type="submit">Open recipient</button></form>
</section>`;
}
