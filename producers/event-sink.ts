import type { AnyEvent } from '../schemas/events.js';

/**
 * What the HTTP routes and the CLI need from a producer: promises that settle once Kafka has
 * acknowledged. EventProducer satisfies it; the counting wrapper adds metrics without the
 * routes knowing.
 */
export interface EventSink {
  send(event: AnyEvent): Promise<void>;
  sendAll(events: readonly AnyEvent[]): Promise<void>;
}

export function countingSink(inner: EventSink, onWritten: (event: AnyEvent) => void): EventSink {
  return {
    async send(event) {
      await inner.send(event);
      onWritten(event);
    },
    async sendAll(events) {
      await inner.sendAll(events);
      for (const event of events) onWritten(event);
    },
  };
}
