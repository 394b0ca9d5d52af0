import { describe, expect, it } from 'vitest';
import { encodeCommand, encodeParts } from '../../projections/projector/resp.js';

describe('encodeCommand', () => {
  it('writes the RESP array of bulk strings ioredis would write, byte lengths for multi-byte text', () => {
    const bytes = encodeCommand(['HSET', '{p:v1}:email:o:e', 'subject', 'Grüße ✉', 'empty', '']);
    expect(bytes.toString('utf8')).toBe('*6\r\n$4\r\nHSET\r\n$16\r\n{p:v1}:email:o:e\r\n$7\r\nsubject\r\n$11\r\nGrüße ✉\r\n$5\r\nempty\r\n$0\r\n\r\n');
  });

  it('counts arguments and lengths of ten digits and more', () => {
    const args = ['SADD', 'k', ...Array.from({ length: 10 }, (_, i) => 'x'.repeat(i === 9 ? 1234 : i))];
    const text = encodeCommand(args).toString('utf8');
    expect(text.startsWith('*12\r\n$4\r\nSADD\r\n$1\r\nk\r\n$0\r\n\r\n$1\r\nx\r\n')).toBe(true);
    expect(text.endsWith(`$1234\r\n${'x'.repeat(1234)}\r\n`)).toBe(true);
    expect(encodeCommand(args).length).toBe(Buffer.byteLength(text));
  });
});

/** RESP written the plain way, one piece per argument. */
function reference(args: readonly string[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => Buffer.concat([Buffer.from(`$${Buffer.byteLength(a)}\r\n`), Buffer.from(a, 'utf8'), Buffer.from('\r\n')]))]);
}

describe('encodeParts', () => {
  it('encodes parts as the one command of their concatenation: ASCII, multi-byte, astral and empty arguments, empty parts', () => {
    const parts = [['EVALSHA', 'abc'], ['2'], ['{p:v1}:k1', 'ключ', 'x\u007f', '\u0080', 'a😀b'], [], ['0', '', 'x'.repeat(300), 'é'.repeat(70)]];
    expect(encodeParts(parts)).toEqual(reference(parts.flat()));
    expect(encodeCommand(parts.flat())).toEqual(reference(parts.flat()));
  });
});
