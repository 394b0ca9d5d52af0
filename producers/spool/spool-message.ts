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
  const topic = Buffer.from(message.topic, 'utf8');
  const key = Buffer.from(message.key, 'utf8');
  const out = Buffer.allocUnsafe(1 + 2 + topic.length + 2 + key.length + 8 + message.value.length);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt16BE(topic.length, at);
  at += topic.copy(out, at);
  at = out.writeUInt16BE(key.length, at);
  at += key.copy(out, at);
  at = out.writeDoubleBE(message.timestamp, at);
  message.value.copy(out, at);
  return out;
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
