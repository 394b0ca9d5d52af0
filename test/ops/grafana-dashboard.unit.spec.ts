/**
 * ops/grafana/engagement-pipeline.json imports into Grafana and plots only metrics that /metrics
 * really exports (the spool panel matches any spool metric by name on purpose).
 */
import { readFileSync } from 'node:fs';
import { register, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createServerMetrics } from '../../api/metrics.js';
import { registerPositionMetrics } from '../../api/dashboard/position-metrics.js';
import { metrics as processorMetrics } from '../../processors/metrics.js';

type Panel = { id: number; type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> };
const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/engagement-pipeline.json', import.meta.url), 'utf8')) as {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  uid: string;
  panels: Panel[];
};

async function exportedNames(): Promise<Set<string>> {
  expect(processorMetrics.processed).toBeDefined(); // registers the processors' counters
  const server = createServerMetrics();
  const positions = new Registry();
  registerPositionMetrics(positions, async () => ({ groups: [], deadLetterRecords: 0 }));
  const names = new Set<string>();
  for (const registry of [server.registry, positions, register]) for (const m of await registry.getMetricsAsJSON()) names.add(m.name);
  return names;
}

describe('the Grafana dashboard', () => {
  it('is an importable dashboard with a Prometheus input', () => {
    expect(dashboard.uid).toBe('engagement-pipeline');
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('covers throughput, lag, dead letters, tracking outcomes and spool with metrics that exist', async () => {
    const names = await exportedNames();
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(engagement_[a-z_]+)\b(?![.*])/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    expect([...used].filter((n) => !names.has(n))).toEqual([]);
    for (const needed of ['engagement_processor_events_total', 'engagement_consumer_lag', 'engagement_deadletter_records', 'engagement_processor_dead_letters_total', 'engagement_tracking_requests_total']) {
      expect(used).toContain(needed);
    }
    expect(exprs.some((e) => e.includes('spool'))).toBe(true);
  });

  it('counts the lag once however many api instances export it (each reads the same Kafka positions)', () => {
    const lag = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).filter((e) => e.includes('engagement_consumer_lag'));
    expect(lag.length).toBeGreaterThan(0);
    for (const expr of lag) expect(expr, expr).toContain('max by (group, partition) (engagement_consumer_lag)');
    expect(lag).toContain('sum by (group) (max by (group, partition) (engagement_consumer_lag))');
  });
});
