import { recipientRef } from '../../projections/keys.js';
import { recipientTypeOf, type EmailSent } from '../../schemas/events.js';

/**
 * recipientRef -> IANA zone of the followed recipients a send names a zone for, or null: what the
 * fold keeps with the email (flags hash `z`) so each later open is counted on that recipient's
 * clock, from the email's own send (one partition, in order: replay counts alike). Pure.
 */
export function zonesOf(event: EmailSent): Record<string, string> | null {
  let zones: Record<string, string> | null = null;
  if (!event.follow) return null;
  for (const r of event.recipients) {
    if (!r.followed || !r.timeZone) continue;
    zones ??= {};
    zones[recipientRef(recipientTypeOf(r), r.contactId)] = r.timeZone;
  }
  return zones;
}
