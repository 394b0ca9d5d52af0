/**
 * Where a tracking interaction goes once it is built: routed and encoded exactly as the producer
 * would (topic, key, Avro single-object value) and appended to the spool. The answer to the person
 * depends on nothing here. `seal` is the seam for whatever must happen to an event before it is
 * written anywhere (e.g. encrypting its personal fields): the spool only ever holds its result.
 */
import type { Topics } from '../../core/topics.js';
import type { EventCodec } from '../../schemas/codec.js';
import type { AnyEvent } from '../../schemas/events.js';
import { routeEvent } from '../event-producer.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_PAYLOAD, sealFrame } from './frame.js';
import type { AppendOutcome, SegmentSpool } from './segment-spool.js';
import { spoolHeadBytes, writeSpoolMessageHead } from './spool-message.js';

/** One frame is built here at a time (append is synchronous): no allocation per interaction. */
const scratch = Buffer.allocUnsafe(FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);

/** `no_key`: `seal` could not seal the event here and now; the caller sends it another way. */
export type SpoolOutcome = AppendOutcome | 'invalid' | 'no_key';

export interface SpoolSinkOptions {
  /** undefined when the event cannot be sealed synchronously (no data key held): nothing is spooled */
  seal?: (event: AnyEvent) => AnyEvent | undefined;
}

export class SpoolSink {
  constructor(
    private readonly spool: SegmentSpool,
    private readonly topics: Topics,
    private readonly codec: EventCodec,
    private readonly options: SpoolSinkOptions = {},
  ) {}

  append(event: AnyEvent): SpoolOutcome {
    const sealed = this.options.seal ? this.options.seal(event) : event;
    if (sealed === undefined) return 'no_key';
    const { topic, key } = routeEvent(this.topics, sealed);
    if (spoolHeadBytes(topic, key) > MAX_FRAME_PAYLOAD / 2) return 'invalid';
    const valueAt = writeSpoolMessageHead(scratch, FRAME_HEADER_BYTES, topic, key, sealed.occurredAt);
    let end: number;
    try {
      end = this.codec.encodeInto(sealed, scratch, valueAt);
    } catch {
      return 'invalid';
    }
    if (end < 0) return 'invalid'; // larger than a frame may be
    return this.spool.appendFrame(sealFrame(scratch.subarray(0, end)), sealed.occurredAt);
  }

  /** Runs `then` once every record appended so far is written (SegmentSpool.afterWrite): answer after it. */
  afterWrite(then: () => void): void {
    this.spool.afterWrite(then);
  }
}
