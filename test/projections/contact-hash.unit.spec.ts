import { describe, expect, it } from 'vitest';
import { contactHashOf, openHistograms } from '../../projections/queries/best-time.js';

/** A hash as HGETALL sends it raw: field/value bulk strings as Buffers. */
function raw(hash: Record<string, string>): Buffer[] {
  return Object.entries(hash).flatMap(([f, v]) => [Buffer.from(f), Buffer.from(v)]);
}

function expectSameAsDecoded(hash: Record<string, string>): void {
  const parsed = contactHashOf(raw(hash));
  const slow = openHistograms(hash);
  expect(new Map([...parsed.histograms.local].sort())).toEqual(new Map([...slow.local].sort()));
  expect(new Map([...parsed.histograms.legacyUtc].sort())).toEqual(new Map([...slow.legacyUtc].sort()));
  expect(parsed.size).toBe(Object.keys(hash).length);
  for (const [field, value] of Object.entries(parsed.fields)) expect(hash[field]).toBe(value);
}

describe('contactHashOf (a raw contact hash)', () => {
  it('reads every local and legacy UTC slot from the bytes, and keeps the other fields as strings', () => {
    const hash: Record<string, string> = { tz: 'Asia/Kolkata', lastOpenedAt: '1767225600000' };
    for (let slot = 0; slot < 168; slot += 7) hash[`hl:${slot}`] = String(slot + 1);
    for (let slot = 3; slot < 168; slot += 11) hash[`h:${slot}`] = String(2 * slot);
    const parsed = contactHashOf(raw(hash));
    expect(parsed.fields).toEqual({ tz: 'Asia/Kolkata', lastOpenedAt: '1767225600000' });
    expect(parsed.histograms.local.get(161)).toBe(162);
    expect(parsed.histograms.legacyUtc.get(3)).toBe(6);
    expectSameAsDecoded(hash);
  });

  it('gives what the decoded hash gives for fields the fold never writes', () => {
    expectSameAsDecoded({ 'hl:': '1', 'hl:1234': '2', 'h:x': '3', 'hl:07': '4', 'h:-1': '5', hour: 'x', 'hl:9': '-2', 'h:12': '7' });
  });

  it('reads a missing hash (nil) and an empty one as nothing', () => {
    for (const flat of [null, []]) {
      const parsed = contactHashOf(flat);
      expect(parsed.size).toBe(0);
      expect(parsed.fields).toEqual({});
      expect(parsed.histograms.local.size + parsed.histograms.legacyUtc.size).toBe(0);
    }
  });
});
