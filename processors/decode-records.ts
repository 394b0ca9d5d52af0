/**
 * Turns a partition batch into decoded email events and rejects, never throwing: a bad record
 * must become a dead letter, not a crashed processor (DESIGN §4). Pure over the codec.
 */

import type { KafkaMessage } from 'kafkajs';
import { asEngagementError, EngagementError } from '../core/errors.js';
import type { EventCodec } from '../schemas/codec.js';
import { isEmailEvent, type EmailEvent } from '../schemas/events.js';
import { OCCURRED_AT_PROBLEM, occurredAtInRange } from '../schemas/occurred-at.js';

export interface DecodedRecord {
  offset: number;
  event: EmailEvent;
}
export interface RejectedRecord {
  offset: number;
  message: KafkaMessage;
  error: EngagementError;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeRecords(
  messages: readonly KafkaMessage[],
  codec: EventCodec,
  now: number = Date.now(),
): { events: DecodedRecord[]; rejected: RejectedRecord[] } {
  const events: DecodedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  for (const message of messages) {
    const offset = Number(message.offset);
    try {
      if (!message.value) throw new EngagementError('decode_failed', 'record has no value');
      const event = codec.decode(message.value);
      if (!isEmailEvent(event)) throw new EngagementError('validation_failed', `${event.type} does not belong on the emails topic`);
      const problem = semanticProblem(event, now);
      if (problem) throw new EngagementError('validation_failed', problem);
      events.push({ offset, event });
    } catch (error) {
      rejected.push({ offset, message, error: asEngagementError(error, 'decode_failed') });
    }
  }
  return { events, rejected };
}

/** The cheap subset of validateEvent's semantic checks that keeps nonsense out of the projections. */
function semanticProblem(event: EmailEvent, now: number): string | null {
  if (!UUID.test(event.eventId)) return 'eventId must be a UUID';
  if (!occurredAtInRange(event.occurredAt, now)) return `occurredAt ${OCCURRED_AT_PROBLEM}`;
  if (event.orgId === '' || event.emailId === '') return 'orgId and emailId must not be empty';
  if (event.type !== 'EmailSent' && event.contactId === '') return 'contactId must not be empty';
  return null;
}
