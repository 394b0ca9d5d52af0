import { CONTACT_WINDOW, type ContactKpis } from '../../../projections/queries/contact-kpis.js';
import type { RecipientDay } from '../../../projections/queries/recipient-daily.js';
import type { RecipientHeatmap } from '../../../projections/queries/recipient-heatmap.js';
import { groupedBars, heatmap, horizontalBars, WEEKDAYS } from '../charts.js';
import { figures, html, percent, table, when, type Html } from '../html.js';

/** The contact / lead / account page: activity over a window (totals and per day), last open, the 7×24 heatmap. */
export function recipientPage(k: ContactKpis, map: RecipientHeatmap | null, action: string, daily: readonly RecipientDay[]): Html {
  const active = daily.filter((d) => d.received + d.opened + d.clicked + d.replied > 0);
  const best = k.bestTimeToEmail;
  const cells = map ? map.opens.flat() : Array.from({ length: 168 }, () => 0);
  return html`
<form class="range" method="get" action="${action}"><label>Window (days) <input type="number" name="days" min="1" max="${CONTACT_WINDOW.maxDays}" value="${k.days}"></label><button type="submit">Show</button></form>
<p class="note">${k.from} to ${k.to}; time zone ${k.timeZone ?? 'unknown (UTC shown)'}.</p>
${figures([
  { key: 'emailsReceived', label: 'Emails received', value: k.emailsReceived },
  { key: 'emailsOpened', label: 'Opened', value: k.emailsOpened },
  { key: 'emailsClicked', label: 'Clicked', value: k.emailsClicked },
  { key: 'emailsReplied', label: 'Replied', value: k.emailsReplied },
  { key: 'openRate', label: 'Open rate', value: percent(k.openRate) },
  { key: 'clickRate', label: 'Click rate', value: percent(k.clickRate) },
  { key: 'replyRate', label: 'Reply rate', value: percent(k.replyRate) },
  { key: 'lastOpenedAt', label: 'Last open', value: when(k.lastOpenedAt) },
])}
<section><h2>Activity over ${k.days} days</h2>
${horizontalBars('Emails received, opened, clicked, replied', [
  { label: 'received', value: k.emailsReceived },
  { label: 'opened', value: k.emailsOpened },
  { label: 'clicked', value: k.emailsClicked },
  { label: 'replied', value: k.emailsReplied },
])}
<p class="note">The figures above are this chart as numbers.</p>
${groupedBars('Emails received, opened, clicked and replied per day (UTC days)', ['received', 'opened', 'clicked', 'replied'], daily.map((d) => ({ label: d.date, values: [d.received, d.opened, d.clicked, d.replied] })))}
${
  active.length > 0
    ? table('activity', 'Activity per day (the chart as a table; days not listed had none)', ['date', 'received', 'opened', 'clicked', 'replied'], active.map((d) => [d.date, d.received, d.opened, d.clicked, d.replied]))
    : html`<p class="note">No activity on any day of this window.</p>`
}
</section>
<section><h2>Best time to email</h2>
<p data-kpi="bestTimeToEmail">${best ? best.map((s) => `${s.dayOfWeek} ${s.hour}:00 (${s.opens} opens)`).join(', ') : 'not enough opens yet'}</p>
${heatmap(`Opens by hour of week, ${k.timeZone ?? 'UTC'}`, cells)}
${table('heatmap', 'Opens by weekday and hour (the heatmap as a table)', ['day', ...Array.from({ length: 24 }, (_, h) => `${h}h`)], WEEKDAYS.map((d, i) => [d, ...cells.slice(i * 24, i * 24 + 24)]))}
</section>`;
}
