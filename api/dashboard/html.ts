/** HTML building blocks of the dashboard: escaping, the page frame, tables. Pure. */

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value inserted as HTML; everything else is escaped. */
export interface Html {
  readonly html: string;
}

export function raw(html: string): Html {
  return { html };
}

export function render(value: unknown): string {
  if (value && typeof value === 'object' && 'html' in value) return (value as Html).html;
  if (Array.isArray(value)) return value.map(render).join('');
  return esc(value);
}

/** Tagged template: interpolations are escaped unless they are `raw(…)` or built by `html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return raw(out);
}

export interface NavLink {
  href: string;
  label: string;
}

export function page(title: string, body: Html, nav: readonly NavLink[] = []): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Email engagement</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head>
<body><header><a class="brand" href="/dashboard">Email engagement</a><nav>${nav.map((n) => `<a href="${esc(n.href)}">${esc(n.label)}</a>`).join('')}</nav>${
    nav.length > 0 ? '<form method="post" action="/dashboard/sign-out"><button type="submit">Sign out</button></form>' : ''
  }</header>
<main><h1>${esc(title)}</h1>${body.html}</main></body></html>`;
}

export type Cell = string | number | null | Html;

/** A data table; `id` names it for tests and for the chart that it is the text alternative of. */
export function table(id: string, caption: string, head: readonly string[], rows: ReadonlyArray<readonly Cell[]>): Html {
  const cell = (c: Cell): string => (typeof c === 'number' ? `<td class="num">${esc(c)}</td>` : `<td>${render(c ?? '—')}</td>`);
  return raw(
    `<div class="table-wrap"><table id="${esc(id)}" data-testid="${esc(id)}"><caption>${esc(caption)}</caption><thead><tr>${head
      .map((h) => `<th scope="col">${esc(h)}</th>`)
      .join('')}</tr></thead><tbody>${rows.length === 0 ? `<tr><td colspan="${head.length}">no data</td></tr>` : rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table></div>`,
  );
}

/** Headline numbers; each `<dd>` carries `data-kpi` so a reader (or a test) finds it by name. */
export function figures(items: ReadonlyArray<{ key: string; label: string; value: string | number }>): Html {
  return raw(
    `<dl class="figures">${items.map((i) => `<div><dt>${esc(i.label)}</dt><dd data-kpi="${esc(i.key)}">${esc(i.value)}</dd></div>`).join('')}</dl>`,
  );
}

/** An ISO time as people read it: `2026-11-26 01:22:42 UTC`. */
export function when(iso: string | null): string {
  return iso === null ? 'never' : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
