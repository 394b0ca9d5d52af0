/**
 * kafkajs's producer with two of its per-message steps done in linear, allocation-light code:
 * the Produce request's encoding (kafka-produce-encoding.ts, byte for byte kafkajs's own) and the
 * grouping of messages per partition (kafkajs copies a partition's list for every message it adds:
 * quadratic in the records of a request). kafkajs has no hook for either, so the two modules are
 * replaced in node's module cache before kafkajs's producer loads them; every other part of
 * kafkajs (connections, metadata, the idempotent producer's sequences, retries, responses) is its
 * own. A request that is not the plain case is encoded by kafkajs itself.
 *
 * Installed in the spool's sender thread (producers/spool/spool-sender-thread.mjs), the one
 * producer that sends a record per tracking request. kafkajs 2.2.4 is its last release; a test
 * compares the encodings, so a different kafkajs fails there first.
 */
import { createRequire } from 'node:module';
import { EngagementError } from './errors.js';
import { encodeProduceRequest, type ProduceRequest } from './kafka-produce-encoding.js';

const require = createRequire(import.meta.url);

const MODULES = {
  produceRequest: 'kafkajs/src/protocol/requests/produce/v3/request.js',
  group: 'kafkajs/src/producer/groupMessagesPerPartition.js',
  sendMessages: 'kafkajs/src/producer/sendMessages.js',
  encoder: 'kafkajs/src/protocol/encoder.js',
} as const;

interface ProtocolRequest {
  encode: () => Promise<unknown>;
}
type ProduceArgs = Partial<Omit<ProduceRequest, 'topicData'>> & { compression?: number; topicData: ProduceRequest['topicData'] };
type RequestModule = (args: ProduceArgs) => ProtocolRequest;
type EncoderClass = new (initialSize?: number) => { buf: Buffer; offset: number };
type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;

/** kafkajs's groupMessagesPerPartition, linear: each partition's messages in the order given. Pure but for the partitioner. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: unknown[]; messages: M[]; partitioner: Partitioner }): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

/** Requests encoded here and by kafkajs (`kafkajs`: not the plain case, or `failed` here), in this thread. */
export const fastProduceCounts = { fast: 0, kafkajs: 0, failed: 0 };

/**
 * kafkajs's Produce v3 request module (v4 to v7 are built on it) with its `encode` taking the
 * plain case here. An error here is a bug of this encoder: the request goes out as kafkajs encodes
 * it, and a warning says so once, so a spool never stops draining for it.
 */
export function fastProduceRequest(original: RequestModule, Encoder: EncoderClass, onError: (error: unknown) => void = warnOnce): RequestModule {
  return (args) => {
    const request = original(args);
    const kafkajsEncode = request.encode;
    request.encode = async () => {
      // kafkajs's defaults apply to undefined only: a null is left to kafkajs (it refuses some, writes others as 0)
      const plain = (args.compression === undefined || args.compression === 0) && args.producerId !== null && args.producerEpoch !== null;
      let body: Buffer | null = null;
      if (plain) {
        try {
          body = encodeProduceRequest({
            acks: args.acks!,
            timeout: args.timeout!,
            transactionalId: args.transactionalId ?? null,
            producerId: args.producerId ?? -1,
            producerEpoch: args.producerEpoch ?? 0,
            topicData: args.topicData,
          });
        } catch (error) {
          fastProduceCounts.failed++;
          onError(error);
        }
      }
      if (!body) {
        fastProduceCounts.kafkajs++;
        return kafkajsEncode();
      }
      fastProduceCounts.fast++;
      const encoder = new Encoder(0);
      encoder.buf = body;
      encoder.offset = body.length;
      return encoder;
    };
    return request;
  };
}

/** Messages already warned about: once each (an input kafkajs refuses too must not hide a later, different failure), a few at most. */
const warned = new Set<string>();
function warnOnce(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (warned.has(message) || warned.size >= 16) return;
  warned.add(message);
  process.emitWarning(`the fast Produce encoding failed, kafkajs encodes instead: ${message}`, { code: 'ENGAGEMENT_FAST_PRODUCE' });
}

let installed = false;

/**
 * Replaces the two modules in this thread's module cache. Must run before kafkajs is first
 * loaded in the thread (it throws otherwise: kafkajs would keep its own without a word).
 */
export function installFastProduce(): void {
  if (installed) return;
  const paths = Object.fromEntries(Object.entries(MODULES).map(([name, id]) => [name, require.resolve(id)])) as Record<keyof typeof MODULES, string>;
  if (require.cache[paths.sendMessages] || require.cache[paths.produceRequest]) {
    throw new EngagementError('internal', 'installFastProduce: kafkajs was loaded before it; install it first in the thread');
  }
  const original = require(paths.produceRequest) as RequestModule;
  const Encoder = require(paths.encoder) as EncoderClass;
  require.cache[paths.produceRequest]!.exports = fastProduceRequest(original, Encoder);
  require(paths.group);
  require.cache[paths.group]!.exports = groupMessagesPerPartition;
  installed = true;
}
