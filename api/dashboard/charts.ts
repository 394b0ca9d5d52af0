/**
 * Hand-written SVG charts (no script, no CDN: the page is complete as the server sends it). Each
 * chart is `role="img"` with a label; the page puts its data table next to it. Pure.
 */
import { esc, raw, type Html } from './html.js';

const W = 640;

export interface StackedPoint {
  label: string;
  people: number;
  machines: number;
}

/** Daily bars, people solid and machines stacked above in a lighter hatch. */
export function stackedBars(title: string, points: readonly StackedPoint[], withMachines = true): Html {
  const H = 180;
  const top = 10;
  const bottom = 24;
  const max = Math.max(1, ...points.map((p) => p.people + p.machines));
  const slot = W / Math.max(1, points.length);
  const bar = Math.max(1, slot * 0.7);
  const y = (v: number): number => ((H - top - bottom) * v) / max;
  const bars = points
    .map((p, i) => {
      const x = i * slot + (slot - bar) / 2;
      const hp = y(p.people);
      const hm = y(p.machines);
      const base = H - bottom;
      return `<g><title>${esc(p.label)}: ${p.people} people, ${p.machines} machines</title><rect class="people" x="${x.toFixed(1)}" y="${(base - hp).toFixed(1)}" width="${bar.toFixed(1)}" height="${hp.toFixed(1)}"/><rect class="machines" x="${x.toFixed(1)}" y="${(base - hp - hm).toFixed(1)}" width="${bar.toFixed(1)}" height="${hm.toFixed(1)}"/></g>`;
    })
    .join('');
  const labels = dayLabels(points, slot, H);
  return raw(
    `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><text x="4" y="12" class="axis">max ${max}</text><line x1="0" x2="${W}" y1="${H - bottom}" y2="${H - bottom}" class="axis-line"/>${bars}${labels}</svg><figcaption>${esc(title)} <span class="key people">people</span>${withMachines ? ' <span class="key machines">machines</span>' : ''}</figcaption></figure>`,
  );
}

export interface BarItem {
  label: string;
  value: number;
}

/** Horizontal bars (a funnel, clicks per link). */
export function horizontalBars(title: string, items: readonly BarItem[]): Html {
  const row = 28;
  const H = Math.max(row, items.length * row);
  const labelW = 180;
  const max = Math.max(1, ...items.map((i) => i.value));
  const bars = items
    .map((item, i) => {
      const w = ((W - labelW - 60) * item.value) / max;
      const y = i * row;
      return `<text x="0" y="${y + 18}">${esc(item.label.length > 28 ? `${item.label.slice(0, 27)}…` : item.label)}</text><rect class="people" x="${labelW}" y="${y + 5}" width="${w.toFixed(1)}" height="${row - 10}"/><text x="${(labelW + w + 6).toFixed(1)}" y="${y + 18}">${item.value}</text>`;
    })
    .join('');
  return raw(`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${bars}</svg><figcaption>${esc(title)}</figcaption></figure>`);
}

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** 7×24 heatmap; `cells[day * 24 + hour]`, Monday first. */
export function heatmap(title: string, cells: readonly number[]): Html {
  const cw = 24;
  const ch = 22;
  const left = 40;
  const topPad = 18;
  const max = Math.max(1, ...cells);
  let out = '';
  for (let h = 0; h < 24; h += 3) out += `<text x="${left + h * cw + cw / 2}" y="12" text-anchor="middle">${h}h</text>`;
  WEEKDAYS.forEach((day, d) => {
    out += `<text x="0" y="${topPad + d * ch + 15}">${day}</text>`;
    for (let h = 0; h < 24; h++) {
      const v = cells[d * 24 + h] ?? 0;
      const alpha = v === 0 ? 0.06 : 0.2 + (0.8 * v) / max;
      out += `<rect x="${left + h * cw}" y="${topPad + d * ch}" width="${cw - 2}" height="${ch - 2}" class="heat" fill-opacity="${alpha.toFixed(2)}"><title>${day} ${h}:00 — ${v} opens</title></rect>`;
    }
  });
  const width = left + 24 * cw;
  const height = topPad + 7 * ch;
  return raw(`<figure class="chart"><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">${out}</svg><figcaption>${esc(title)}</figcaption></figure>`);
}

export interface TimelinePoint {
  label: string;
  at: string;
}

/** Points on a time axis (an email's send and its first and last open). */
export function timeline(title: string, points: readonly TimelinePoint[]): Html {
  const H = 72;
  const times = points.map((p) => Date.parse(p.at));
  const min = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - min);
  const x = (t: number): number => 20 + ((W - 40) * (t - min)) / span;
  const marks = points
    .map((p, i) => {
      const px = x(times[i]!);
      const anchor = px < W * 0.15 ? 'start' : px > W * 0.85 ? 'end' : 'middle';
      return `<circle cx="${px.toFixed(1)}" cy="30" r="6" class="people"><title>${esc(p.label)} ${esc(p.at)}</title></circle><text x="${px.toFixed(1)}" y="${i % 2 === 0 ? 14 : 56}" text-anchor="${anchor}">${esc(p.label)}</text>`;
    })
    .join('');
  return raw(
    `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><line x1="20" x2="${W - 20}" y1="30" y2="30" class="axis-line"/>${points.length > 0 ? marks : ''}</svg><figcaption>${esc(title)}</figcaption></figure>`,
  );
}

/** Daily bars with several series side by side per day (a recipient's received, opened, clicked, replied). */
export function groupedBars(title: string, series: readonly string[], points: ReadonlyArray<{ label: string; values: readonly number[] }>): Html {
  const H = 180;
  const top = 10;
  const bottom = 24;
  const max = Math.max(1, ...points.flatMap((p) => p.values));
  const slot = W / Math.max(1, points.length);
  const bar = Math.max(0.5, (slot * 0.8) / Math.max(1, series.length));
  const y = (v: number): number => ((H - top - bottom) * v) / max;
  const bars = points
    .map((p, i) => {
      const x0 = i * slot + slot * 0.1;
      const rects = series
        .map((_, s) => {
          const h = y(p.values[s] ?? 0);
          return `<rect class="series-${s}" x="${(x0 + s * bar).toFixed(1)}" y="${(H - bottom - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}"/>`;
        })
        .join('');
      return `<g><title>${esc(p.label)}: ${series.map((name, s) => `${p.values[s] ?? 0} ${name}`).join(', ')}</title>${rects}</g>`;
    })
    .join('');
  const labels = dayLabels(points, slot, H);
  const keys = series.map((name, s) => `<span class="key series-${s}">${esc(name)}</span>`).join(' ');
  return raw(
    `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><text x="4" y="12" class="axis">max ${max}</text><line x1="0" x2="${W}" y1="${H - bottom}" y2="${H - bottom}" class="axis-line"/>${bars}${labels}</svg><figcaption>${esc(title)} ${keys}</figcaption></figure>`,
  );
}

/** About six day labels (MM-DD) under a bar chart of `slot`-wide bars. */
function dayLabels(points: ReadonlyArray<{ label: string }>, slot: number, H: number): string {
  const every = Math.max(1, Math.ceil(points.length / 6));
  return points
    .map((p, i) =>
      i % every === 0 ? `<text x="${(i === 0 ? 0 : i * slot + slot / 2).toFixed(1)}" y="${H - 6}" text-anchor="${i === 0 ? 'start' : 'middle'}">${esc(p.label.slice(5))}</text>` : '',
    )
    .join('');
}
