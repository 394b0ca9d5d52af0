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
  const lengths = new Array<number>(args.length);
  let size = 1 + digits(args.length) + 2;
  for (let i = 0; i < args.length; i++) {
    const n = Buffer.byteLength(args[i]!, 'utf8');
    lengths[i] = n;
    size += 1 + digits(n) + 2 + n + 2;
  }
  const buf = Buffer.allocUnsafe(size);
  buf[0] = 42; // '*'
  let at = writeUint(buf, 1, args.length);
  buf[at++] = CR;
  buf[at++] = LF;
  for (let i = 0; i < args.length; i++) {
    const n = lengths[i]!;
    buf[at++] = 36; // '$'
    at = writeUint(buf, at, n);
    buf[at++] = CR;
    buf[at++] = LF;
    at += buf.write(args[i]!, at, n, 'utf8');
    buf[at++] = CR;
    buf[at++] = LF;
  }
  return buf;
}

/** A command whose protocol bytes are given: ioredis queues, sends and answers it like any other. */
export class EncodedCommand extends Command {
  private readonly bytes: Buffer;

  constructor(args: readonly string[]) {
    super(args[0]!.toLowerCase(), []);
    this.bytes = encodeCommand(args);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}
