/**
 * Reading a server's counters from its `/metrics` text (Prometheus exposition format), for the
 * scenarios whose server runs in its own process. Pure.
 */

/** Sum of a metric's samples whose labels include `labels` (every sample of `name` for {}). */
export function promSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const space = line.lastIndexOf(' ');
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    const have = new Map([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, want]) => have.get(k) === want)) sum += Number(line.slice(space + 1));
  }
  return sum;
}
