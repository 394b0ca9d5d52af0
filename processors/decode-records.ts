/**
 * Turns a partition batch into decoded email events and rejects, never throwing: a bad record
 * must become a dead letter, not a crashed processor (DESIGN §4). Pure over the codec, and the
 * verdict depends on the record alone (never on the processor's clock): its occurredAt is bounded
 * by the record's own timestamp, so a replay dead-letters exactly what the live run did.
 */

import type { KafkaMessage } from 'kafkajs';
import { asEngagementError, EngagementError } from '../core/errors.js';
import type { EventCodec } from '../schemas/codec.js';
import { isEmailEvent, RECIPIENT_TYPES, type EmailEvent } from '../schemas/events.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, recordTimeProblem } from '../schemas/occurred-at.js';

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
  maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS,
): { events: DecodedRecord[]; rejected: RejectedRecord[] } {
  const events: DecodedRecord[] = [];
  const rejected: RejectedRecord[] = [];
  for (const message of messages) {
    const offset = Number(message.offset);
    try {
      if (!message.value) throw new EngagementError('decode_failed', 'record has no value');
      const event = codec.decode(message.value);
      if (!isEmailEvent(event)) throw new EngagementError('validation_failed', `${event.type} does not belong on the emails topic`);
      const problem = semanticProblem(event, Number(message.timestamp), maxSkewMs);
      if (problem) throw new EngagementError('validation_failed', problem);
      events.push({ offset, event });
    } catch (error) {
      rejected.push({ offset, message, error: asEngagementError(error, 'decode_failed') });
    }
  }
  return { events, rejected };
}

/** The cheap subset of validateEvent's semantic checks that keeps nonsense out of the projections. */
function semanticProblem(event: EmailEvent, recordTimestamp: number, maxSkewMs: number): string | null {
  if (!UUID.test(event.eventId)) return 'eventId must be a UUID';
  const timeProblem = recordTimeProblem(event.occurredAt, recordTimestamp, maxSkewMs);
  if (timeProblem) return `occurredAt ${timeProblem}`;
  if (event.orgId === '' || event.emailId === '') return 'orgId and emailId must not be empty';
  if (event.type !== 'EmailSent' && event.contactId === '') return 'contactId must not be empty';
  if (event.type !== 'EmailSent' && event.recipientType != null && !RECIPIENT_TYPES.includes(event.recipientType)) {
    return `recipientType must be one of ${RECIPIENT_TYPES.join(', ')}, got "${String(event.recipientType)}"`;
  }
  return null;
}
