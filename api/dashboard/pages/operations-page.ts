import { horizontalBars } from '../charts.js';
import { figures, html, table, when, type Html } from '../html.js';
import type { OperationsData } from '../operations-data.js';

/** The operations page (admin key only). */
export function operationsPage(d: OperationsData): Html {
  return html`
<p class="note">Read at ${when(d.readAt)}.</p>
${figures([
  { key: 'deadLetters', label: 'Dead letters (in the topic)', value: d.deadLetters.total },
  { key: 'projectionVersion', label: 'Projection version', value: d.projection.current },
  { key: 'pendingPurges', label: 'Organisations pending purge', value: d.purges.length },
  ...d.groups.map((g) => ({ key: `lag:${g.group}`, label: `Lag ${g.group}`, value: g.totalLag })),
])}
<section><h2>Consumer lag</h2>
${horizontalBars('Lag per group', d.groups.map((g) => ({ label: g.group, value: g.totalLag })))}
${d.groups.map((g) =>
  table(`lag-${g.source}-${g.group.replace(/[^a-z0-9]+/gi, '-')}`, `${g.group} on ${g.topic} (${g.source === 'redis' ? 'offsets stored with the projection in Redis: what the KPIs have read' : g.group.endsWith('.projector') ? 'offsets committed to Kafka, which the projector commits lazily: the projection’s own offsets below are the ones that count' : 'offsets committed to Kafka'})`, ['partition', 'committed', 'log end', 'lag'], g.partitions.map((p) => [
    p.partition,
    p.committed,
    p.end,
    p.lag,
  ])),
)}
</section>
<section><h2>Dead letters</h2>
${d.deadLetters.recentError ? html`<p class="warn">Latest reasons could not be read: ${d.deadLetters.recentError}</p>` : html``}
${table('dead-letters', 'Latest dead letters', ['time', 'code', 'reason', 'from', 'group'], d.deadLetters.recent.map((r) => [when(r.at), r.code, r.reason, `${r.sourceTopic}[${r.sourcePartition}]@${r.sourceOffset}`, r.group]))}
</section>
<section><h2>Projection and replay</h2>
${table('projection', 'Projection versions', ['version', 'status', 'detail'], d.projection.versions.map((v) => [v.version, v.status, v.detail]))}
<p>Replay lock: ${d.projection.replayLock ?? 'free'}; live projector ${d.projection.held ? 'held by a replay about to switch' : 'not held'}.</p>
</section>
<section><h2>Purges</h2>
${table('purges', 'Organisations pending purge', ['org', 'subscription ended', 'purge due', 'in progress'], d.purges.map((p) => [p.orgId, p.subscriptionEndedAt ? when(p.subscriptionEndedAt) : null, p.purgeDueAt ? when(p.purgeDueAt) : null, p.inProgress]))}
</section>
<section><h2>Spool</h2>
${d.spool.length === 0 ? html`<p>No spool in this process.</p>` : table('spool', 'Spool', ['metric', 'labels', 'value'], d.spool.map((s) => [s.name, s.labels, s.value]))}
</section>`;
}
