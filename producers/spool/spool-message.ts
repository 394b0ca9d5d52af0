/**
 * What the spool keeps of an event: the Kafka message exactly as it will be produced (topic, key,
 * timestamp, Avro single-object encoded value), so the drainer sends bytes without knowing the
 * schemas, and an event encrypted or otherwise sealed before the spool stays so on disk.
 * Payload layout: [u8 version=1][u16 topic length][topic][u16 key length][key][f64 timestamp ms][value]. Pure.
 */
export interface SpoolMessage {
  topic: string;
  key: string;
  /** epoch ms: the event's occurredAt, also the Kafka record timestamp */
  timestamp: number;
  value: Buffer;
}

const VERSION = 1;

export function encodeSpoolMessage(message: SpoolMessage): Buffer {
  const out = Buffer.allocUnsafe(spoolHeadBytes(message.topic, message.key) + message.value.length);
  const at = writeSpoolMessageHead(out, 0, message.topic, message.key, message.timestamp);
  message.value.copy(out, at);
  return out.subarray(0, at + message.value.length);
}

/** Bytes of everything before the value (an upper bound: utf8 takes at most 3 bytes per UTF-16 unit). */
export function spoolHeadBytes(topic: string, key: string): number {
  return 1 + 2 + 3 * topic.length + 2 + 3 * key.length + 8;
}

/** Writes everything before the value at `pos` (`buf` has spoolHeadBytes room); returns where the value goes. */
export function writeSpoolMessageHead(buf: Buffer, pos: number, topic: string, key: string, timestamp: number): number {
  let at = buf.writeUInt8(VERSION, pos);
  const topicLength = buf.write(topic, at + 2, 'utf8');
  buf.writeUInt16BE(topicLength, at);
  at += 2 + topicLength;
  const keyLength = buf.write(key, at + 2, 'utf8');
  buf.writeUInt16BE(keyLength, at);
  at += 2 + keyLength;
  return buf.writeDoubleBE(timestamp, at);
}

/** The message of a payload whose checksum matched; throws on a layout this version can't read. */
export function decodeSpoolMessage(payload: Buffer): SpoolMessage {
  if (payload.readUInt8(0) !== VERSION) throw new Error(`unknown spool record version ${payload.readUInt8(0)}`);
  let at = 1;
  const topicLength = payload.readUInt16BE(at);
  at += 2;
  const topic = payload.toString('utf8', at, at + topicLength);
  at += topicLength;
  const keyLength = payload.readUInt16BE(at);
  at += 2;
  const key = payload.toString('utf8', at, at + keyLength);
  at += keyLength;
  const timestamp = payload.readDoubleBE(at);
  at += 8;
  return { topic, key, timestamp, value: payload.subarray(at) };
}
