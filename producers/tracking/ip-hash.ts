/**
 * Minimal personal data (DESIGN.md §2.5): the stored form of a client IP is its network, never
 * the address. IPv4 keeps the /24, IPv6 the /48 — enough for rough geography and abuse
 * analysis, not enough to single out a household. Pure.
 */

import { isIPv4, isIPv6 } from 'node:net';

export function anonymiseIp(ip: string | undefined | null): string | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1]! : ip;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (isIPv6(ip)) return `${expandIpv6(ip).slice(0, 3).join(':')}::`;
  return null;
}

function expandIpv6(ip: string): string[] {
  const withoutZone = ip.split('%')[0]!;
  const [head = '', tail] = withoutZone.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? g.toLowerCase().replace(/^0+(?=.)/, '') : '0'));
}
