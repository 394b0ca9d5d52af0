/**
 * The suppression list of DESIGN §2.2: a recipient who said "do not allow" is kept, after a
 * purge too, only as HMAC-SHA256(SUPPRESSION_SECRET, org, type, id), as mail services keep
 * unsubscribes. Without the secret the hashes name nobody; with it, a known id can be checked,
 * never listed. Pure.
 */

import { createHmac } from 'node:crypto';
import type { RecipientType } from '../../schemas/events.js';

export function suppressionHash(secret: string, orgId: string, type: RecipientType, id: string): string {
  return createHmac('sha256', secret).update(`${orgId}\u0000${type}\u0000${id}`, 'utf8').digest('base64url');
}
