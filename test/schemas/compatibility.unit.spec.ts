/**
 * Each schema version must stay readable by the next (backward) and the next by the previous
 * (forward), so producers and processors can be rolled in any order.
 */

import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { catalog, loadSchemaVersion } from '../../schemas/catalog.js';

function compatible(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

const pairs = [...catalog.versions.values()].flatMap((list) => list.slice(1).map((next, i) => [list[i]!, next] as const));

describe('schema evolution', () => {
  it('has at least one evolved schema to check', () => {
    expect(pairs.length).toBeGreaterThan(0);
  });

  it.each(pairs.map(([prev, next]) => [`${next.type} v${prev.version}→v${next.version}`, prev, next]))(
    '%s is backward and forward compatible',
    (_name, prev, next) => {
      expect(compatible(next.avroType, prev.avroType)).toBe(true);
      expect(compatible(prev.avroType, next.avroType)).toBe(true);
    },
  );

  it('detects a breaking change (a new field without a default)', () => {
    const current = catalog.current.get('EmailReplied')!;
    const schema = JSON.parse(readFileSync(`schemas/avro/${current.file}`, 'utf8'));
    schema.fields.push({ name: 'mandatory', type: 'string' });
    const broken = loadSchemaVersion('broken.avsc', schema, current.version + 1);
    expect(compatible(broken.avroType, current.avroType)).toBe(false);
  });

  it('never changes a published version in place (fingerprints are pinned)', () => {
    const pinned = JSON.parse(readFileSync('schemas/fingerprints.json', 'utf8')) as Record<string, string>;
    const actual = Object.fromEntries([...catalog.byFingerprint.values()].map((v) => [v.file, v.fingerprintHex]));
    for (const [file, hex] of Object.entries(pinned)) expect({ file, hex: actual[file] }).toEqual({ file, hex });
    expect(Object.keys(actual).sort()).toEqual(Object.keys(pinned).sort());
  });
});
