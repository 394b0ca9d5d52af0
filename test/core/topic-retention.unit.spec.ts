import { describe, expect, it } from 'vitest';
import {
  contractConfigEntries,
  DAY_MS,
  formatShortfall,
  keepsAtLeast,
  retentionContract,
  retentionShortfalls,
  shortfallFix,
} from '../../core/topic-retention.js';
import { topicsFor } from '../../core/topics.js';

const topics = topicsFor({ topicPrefix: 'p' });
const contract = retentionContract(topics, 400);
const SEVEN_DAYS = String(7 * DAY_MS);

/** topic -> settings; every topic gets what the contract creates unless overridden. */
function described(overrides: Record<string, Record<string, string | undefined>> = {}): Map<string, Map<string, string>> {
  return new Map(
    contract.map((c) => {
      const settings = new Map(contractConfigEntries(c).map((e): [string, string] => [e.name, e.value]));
      for (const [name, value] of Object.entries(overrides[c.topic] ?? {})) {
        if (value === undefined) settings.delete(name);
        else settings.set(name, value);
      }
      return [c.topic, settings];
    }),
  );
}

describe('retention contract', () => {
  it('creates control never trimmed, emails HISTORY_DAYS + 7 days, deadletter 30 days', () => {
    expect(contract.map((c) => [c.topic, contractConfigEntries(c)])).toEqual([
      ['p.control', [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }]],
      ['p.emails', [{ name: 'retention.ms', value: String(407 * DAY_MS) }, { name: 'retention.bytes', value: '-1' }]],
      ['p.deadletter', [{ name: 'retention.ms', value: String(30 * DAY_MS) }]],
      [
        'p.keys',
        [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.ms', value: '3600000' },
          { name: 'max.compaction.lag.ms', value: '3600000' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          { name: 'delete.retention.ms', value: String(DAY_MS) },
        ],
      ],
    ]);
    expect(contractConfigEntries(retentionContract(topics, 83)[1]!)[0]).toEqual({ name: 'retention.ms', value: String(90 * DAY_MS) });
  });

  it('requires the keys topic compacted: a delete policy would lose live data keys after retention.ms', () => {
    expect(retentionShortfalls(contract, described({ 'p.keys': { 'cleanup.policy': 'delete' } }))).toMatchObject([{ topic: 'p.keys', setting: 'cleanup.policy', actual: 'delete' }]);
    const [shortfall] = retentionShortfalls(contract, described({ 'p.keys': { 'cleanup.policy': 'compact,delete' } }));
    expect(shortfallFix(shortfall!)).toBe('compact');
    expect(formatShortfall(shortfall!)).toMatch(/p\.keys: cleanup\.policy=compact,delete, required cleanup\.policy=compact/);
  });

  it('is met by what it creates, and by unlimited (-1) anywhere', () => {
    expect(retentionShortfalls(contract, described())).toEqual([]);
    const unlimited = { 'retention.ms': '-1', 'retention.bytes': '-1' };
    expect(retentionShortfalls(contract, described({ 'p.emails': unlimited, 'p.deadletter': unlimited }))).toEqual([]);
  });

  it('accepts more than the minimum, refuses one millisecond less', () => {
    expect(retentionShortfalls(contract, described({ 'p.emails': { 'retention.ms': String(500 * DAY_MS) } }))).toEqual([]);
    expect(retentionShortfalls(contract, described({ 'p.emails': { 'retention.ms': String(407 * DAY_MS - 1) } }))).toMatchObject([
      { topic: 'p.emails', setting: 'retention.ms', required: 407 * DAY_MS },
    ]);
  });

  it('names the topic, its setting and the required one for the broker default of 7 days', () => {
    const shortfalls = retentionShortfalls(contract, described({ 'p.control': { 'retention.ms': SEVEN_DAYS }, 'p.emails': { 'retention.ms': SEVEN_DAYS } }));
    expect(shortfalls).toEqual([
      { topic: 'p.control', setting: 'retention.ms', actual: SEVEN_DAYS, required: -1, reason: 'the control history is never trimmed' },
      { topic: 'p.emails', setting: 'retention.ms', actual: SEVEN_DAYS, required: 407 * DAY_MS, reason: 'HISTORY_DAYS 400 + 7 days' },
    ]);
    expect(shortfalls.map(formatShortfall)).toEqual([
      'p.control: retention.ms=604800000 (7 days), required retention.ms=-1 (the control history is never trimmed)',
      'p.emails: retention.ms=604800000 (7 days), required retention.ms >= 35164800000 (407 days: HISTORY_DAYS 400 + 7 days) or -1',
    ]);
  });

  it('refuses a size cap on control and emails, not on the dead letters', () => {
    const capped = { 'retention.bytes': '1073741824' };
    expect(retentionShortfalls(contract, described({ 'p.control': capped, 'p.emails': capped, 'p.deadletter': capped })).map((s) => [s.topic, s.setting])).toEqual([
      ['p.control', 'retention.bytes'],
      ['p.emails', 'retention.bytes'],
    ]);
  });

  it('refuses a retention.ms the cluster does not report or that is not a number; an unreported retention.bytes is fine', () => {
    expect(
      retentionShortfalls(contract, described({ 'p.emails': { 'retention.ms': undefined, 'retention.bytes': undefined }, 'p.deadletter': { 'retention.ms': 'x' } })),
    ).toMatchObject([
      { topic: 'p.emails', setting: 'retention.ms', actual: undefined },
      { topic: 'p.deadletter', setting: 'retention.ms', actual: 'x' },
    ]);
    expect(formatShortfall(retentionShortfalls(contract, described({ 'p.emails': { 'retention.ms': undefined } }))[0]!)).toContain(
      'p.emails: retention.ms is not reported by the cluster, required retention.ms >= ',
    );
  });

  it('treats any negative value as unlimited', () => {
    expect(keepsAtLeast(-1, -1)).toBe(true);
    expect(keepsAtLeast(-1, 10)).toBe(true);
    expect(keepsAtLeast(Number.MAX_SAFE_INTEGER, -1)).toBe(false);
    expect(keepsAtLeast(10, 10)).toBe(true);
  });

  it('refuses a compacted control or emails topic: compaction keeps one record per key', () => {
    const shortfalls = retentionShortfalls(contract, described({ 'p.control': { 'cleanup.policy': 'compact' }, 'p.emails': { 'cleanup.policy': 'compact,delete' } }));
    expect(shortfalls.map((s) => [s.topic, s.setting])).toEqual([
      ['p.control', 'cleanup.policy'],
      ['p.emails', 'cleanup.policy'],
    ]);
    expect(formatShortfall(shortfalls[0]!)).toBe('p.control: cleanup.policy=compact, required cleanup.policy=delete (a compacted topic keeps only the last record per key)');
    expect(retentionShortfalls(contract, described({ 'p.control': { 'cleanup.policy': 'delete' } }))).toEqual([]);
  });
});
