/**
 * Inside the spool sender's worker thread: a KafkaSpoolSender answering the API thread's requests
 * one at a time, in the order they come (the drainer has one batch in flight).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createKafka } from '../../core/kafka.js';
import { KafkaSpoolSender, toThreadError, type SenderReply, type SenderRequest, type SenderThreadOptions } from './spool-sender.js';

const options = workerData as SenderThreadOptions;
const port = parentPort!;
const sender = new KafkaSpoolSender(createKafka(options, { requestTimeout: options.requestTimeout }));

let queue: Promise<void> = Promise.resolve();
port.on('message', (request: SenderRequest) => {
  queue = queue.then(() => answer(request));
});

async function answer(request: SenderRequest): Promise<void> {
  let reply: SenderReply;
  try {
    if (request.op === 'send') reply = { id: request.id, ok: true, sent: await sender.send(request.plan, request.maxRecords) };
    else {
      await (request.op === 'reset' ? sender.reset() : sender.close());
      reply = { id: request.id, ok: true };
    }
  } catch (error) {
    reply = { id: request.id, ok: false, error: toThreadError(error) };
  }
  port.postMessage(reply);
}
