/** Human views of the KPI documents the API serves; `--json` prints the documents themselves. */

import type { ContactKpis } from '../../projections/queries/contact-kpis.js';
import type { EmailKpis } from '../../projections/queries/email-kpis.js';
import type { RollupKpis } from '../../projections/queries/rollup-kpis.js';
import { keyValues, percent, table } from '../../core/table.js';

export function emailView(k: EmailKpis): string {
  const { links, ...scalars } = k;
  const main = keyValues({
    ...scalars,
    openRate: percent(k.openRate),
    clickRate: percent(k.clickRate),
    clickToOpenRate: percent(k.clickToOpenRate),
    replyRate: percent(k.replyRate),
  });
  if (links.length === 0) return main;
  return `${main}\n\nLinks\n${table(['link', 'clicks', 'uniqueClicks', 'url'], links.map((l) => [l.linkId, l.clicks, l.uniqueClicks, l.url]))}`;
}

export function contactView(k: ContactKpis): string {
  const { bestTimeToEmail, ...scalars } = k;
  const main = keyValues({ ...scalars, openRate: percent(k.openRate), clickRate: percent(k.clickRate), replyRate: percent(k.replyRate) });
  const best =
    bestTimeToEmail === null
      ? 'Best time to email: not enough opens yet'
      : `Best time to email (${k.timeZone ?? 'UTC'})\n${table(['day', 'hour', 'opens'], bestTimeToEmail.map((s) => [s.dayOfWeek, `${String(s.hour).padStart(2, '0')}:00`, s.opens]))}`;
  return `${main}\n\n${best}`;
}

export function rollupView(k: RollupKpis): string {
  const totals = keyValues({
    orgId: k.orgId,
    scope: k.scope.kind === 'org' ? 'organisation' : k.scope.kind === 'sender' ? `sender ${k.scope.senderId}` : `template ${k.scope.templateId}`,
    from: k.from,
    to: k.to,
    emails: k.emails,
    followedRecipients: k.followedRecipients,
    opens: k.opens,
    uniqueOpens: k.uniqueOpens,
    clicks: k.clicks,
    uniqueClicks: k.uniqueClicks,
    uniqueReplies: k.uniqueReplies,
    attachmentViews: k.attachmentViews,
    machineOpens: k.machineOpens,
    machineClicks: k.machineClicks,
    openRate: percent(k.openRate),
    clickRate: percent(k.clickRate),
    clickToOpenRate: percent(k.clickToOpenRate),
    replyRate: percent(k.replyRate),
  });
  const active = k.daily.filter((d) => d.emails + d.opens + d.clicks + d.uniqueReplies + d.machineOpens + d.machineClicks > 0);
  const series = table(
    ['date', 'emails', 'opens', 'uniqueOpens', 'clicks', 'uniqueClicks', 'uniqueReplies', 'machineOpens', 'machineClicks'],
    active.map((d) => [d.date, d.emails, d.opens, d.uniqueOpens, d.clicks, d.uniqueClicks, d.uniqueReplies, d.machineOpens, d.machineClicks]),
  );
  return `${totals}\n\nDaily (days with activity)\n${active.length === 0 ? 'no activity in range' : series}`;
}
