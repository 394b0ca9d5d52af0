/**
 * Large commands encoded here, in one pass into one Buffer, and queued on an ioredis pipeline as
 * they are: a fresh replay's write is a few hundred commands with millions of arguments, and
 * ioredis encodes each argument by string concatenation into one protocol string for the whole
 * MULTI, kept until EXEC is sent (measured: ~1.3 µs of CPU per argument, most of it garbage
 * collection of the string pieces). Redis receives the same bytes either way.
 * Only for a connection without `keyPrefix` (ioredis would prefix the keys; this does not).
 */

import { Command } from 'ioredis';

const CR = 13;
const LF = 10;

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeUint(buf: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** RESP: an array of bulk strings, `args[0]` the command name. Pure. */
export function encodeCommand(args: readonly string[]): Buffer {
  return encodeParts([args]);
}

/** The UTF-8 length of `text` when it is all ASCII (the common case: keys, numbers, field names), else -1. */
function asciiLength(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return -1;
  return text.length;
}

/**
 * RESP: one array of bulk strings made of `parts` in order (the first string is the command
 * name), without joining them into one array first: the projector's EVALSHA is a few fixed
 * arguments, then KEYS, then ARGV, each tens of thousands long. ASCII arguments are copied in a
 * loop, only the others through Buffer's UTF-8 encoder: two native calls per argument cost ~35%
 * more over a batch's ~400k short arguments. Pure.
 */
export function encodeParts(parts: ReadonlyArray<readonly string[]>): Buffer {
  let count = 0;
  for (const part of parts) count += part.length;
  // an argument's UTF-8 length; stored as -1 - length when it is not ASCII
  const lengths = new Int32Array(count);
  let size = 1 + digits(count) + 2;
  let i = 0;
  for (const part of parts) {
    for (const arg of part) {
      let n = asciiLength(arg);
      if (n < 0) {
        n = Buffer.byteLength(arg, 'utf8');
        lengths[i++] = -1 - n;
      } else {
        lengths[i++] = n;
      }
      size += 1 + digits(n) + 2 + n + 2;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = 42; // '*'
  let at = writeUint(buf, 1, count);
  buf[at++] = CR;
  buf[at++] = LF;
  i = 0;
  for (const part of parts) {
    for (const arg of part) {
      const stored = lengths[i++]!;
      const n = stored < 0 ? -1 - stored : stored;
      buf[at++] = 36; // '$'
      at = writeUint(buf, at, n);
      buf[at++] = CR;
      buf[at++] = LF;
      if (stored < 0) {
        at += buf.write(arg, at, n, 'utf8');
      } else {
        for (let j = 0; j < n; j++) buf[at++] = arg.charCodeAt(j);
      }
      buf[at++] = CR;
      buf[at++] = LF;
    }
  }
  return buf;
}

/** A command whose protocol bytes are given: ioredis queues, sends and answers it like any other. */
export class EncodedCommand extends Command {
  private readonly bytes: Buffer;

  constructor(args: readonly string[]);
  /**
   * `bytes` as `encodeParts` made them, `name` the command's. With `replyEncoding`, bulk strings
   * in the reply are decoded (else they come as Buffers, which ioredis always parses).
   */
  constructor(name: string, bytes: Buffer, replyEncoding?: BufferEncoding);
  constructor(argsOrName: readonly string[] | string, bytes?: Buffer, replyEncoding?: BufferEncoding) {
    const named = typeof argsOrName === 'string';
    super((named ? argsOrName : argsOrName[0]!).toLowerCase(), [], replyEncoding ? { replyEncoding } : {});
    this.bytes = named ? bytes! : encodeCommand(argsOrName);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}
