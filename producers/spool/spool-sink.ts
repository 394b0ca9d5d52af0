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
import type { AppendOutcome, SegmentSpool } from './segment-spool.js';

export type SpoolOutcome = AppendOutcome | 'invalid';

export interface SpoolSinkOptions {
  seal?: (event: AnyEvent) => AnyEvent;
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
    const { topic, key } = routeEvent(this.topics, sealed);
    let value: Buffer;
    try {
      value = this.codec.encode(sealed);
    } catch {
      return 'invalid';
    }
    return this.spool.append({ topic, key, timestamp: sealed.occurredAt, value });
  }
}
