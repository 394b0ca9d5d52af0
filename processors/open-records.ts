/**
 * The one point where processors decrypt (DESIGN §2 "Purge reaches the log"): after a batch is
 * decoded and the control topic read to its end, before it is gated. Each sealed event gets the
 * fields of `scope` opened with the key its `encryption.keyId` names; clear (old) records pass.
 * Scope `gate` (the lander) opens the recipient only when the gate will look it up: when the org
 * has recipient preferences at all.
 *
 * A key this process does not hold: the keys topic is read to its end and the control topic again
 * (a purge writes OrgPurged before it destroys the key, so the history then knows the purge), and
 *  - the org was purged and the gate refuses the event on org-level grounds (org_purged, …):
 *    the event stays sealed and the gate counts it; nothing is dead-lettered for a purged org;
 *  - otherwise (never purged, or the gate would collect it): a `key_unknown` rejection, which
 *    the projector dead-letters. A field that does not open (altered, wrong key): `decrypt_failed`.
 * Never a crash, never a silent skip.
 */

import { EngagementError } from '../core/errors.js';
import { FIELD_ALGORITHM, FieldCipherError } from '../core/crypto/field-cipher.js';
import { keyMetrics } from '../core/keys/key-metrics.js';
import type { DataKeys } from '../core/keys/keyring.js';
import type { EmailEvent } from '../schemas/events.js';
import { isSealed, openEvent, type OpenScope } from '../schemas/sealing.js';
import type { ControlHistory } from './gate/control-history.js';
import { gate } from './gate/decide.js';

/** The processors' view of the keyring: lookups, and reading the keys topic to its end. */
export interface ProcessorKeys extends DataKeys {
  caughtUp(): Promise<void>;
}

export interface OpenFailure {
  offset: number;
  error: EngagementError;
}

export interface OpenContext {
  keys: ProcessorKeys | undefined;
  history: ControlHistory;
  /** the control topic to its end again (after the keys topic was) */
  waitForControl: () => Promise<void>;
  scope: OpenScope;
}

type Opened<T> = { kind: 'ok'; record: T } | { kind: 'missing' } | { kind: 'failed'; error: EngagementError };

export async function openRecords<T extends { offset: number; event: EmailEvent }>(
  records: readonly T[],
  ctx: OpenContext,
): Promise<{ opened: T[]; failed: OpenFailure[] }> {
  let results = records.map((record) => openOne(record, ctx));
  if (results.some((r) => r.kind === 'missing')) {
    await ctx.keys?.caughtUp();
    await ctx.waitForControl();
    results = results.map((r, i) => (r.kind === 'missing' ? openOne(records[i]!, ctx) : r));
  }
  const opened: T[] = [];
  const failed: OpenFailure[] = [];
  results.forEach((result, i) => {
    const record = records[i]!;
    if (result.kind === 'ok') opened.push(result.record);
    else if (result.kind === 'failed') failed.push({ offset: record.offset, error: result.error });
    else {
      const { event } = record;
      if (refusedAsPurged(event, ctx)) {
        opened.push(record); // sealed under a destroyed key: the gate refuses it (org_purged, …)
        return;
      }
      keyMetrics.decryptFailures.inc({ reason: 'key_unknown' });
      const keyId = isSealed(event) ? event.encryption.keyId : '?';
      failed.push({
        offset: record.offset,
        error: new EngagementError('key_unknown', `${event.type} of org "${event.orgId}" is sealed with data key ${keyId}, which is not on the keys topic (never written, or destroyed although the org was never purged)`),
      });
    }
  });
  return { opened, failed };
}

function openOne<T extends { offset: number; event: EmailEvent }>(record: T, ctx: OpenContext): Opened<T> {
  const { event } = record;
  if (!isSealed(event)) return { kind: 'ok', record };
  // The gate reads the recipient only to find its preference: an org without any needs no decryption.
  if (ctx.scope === 'gate' && (event.type === 'EmailSent' || !ctx.history.hasRecipientPreferences(event.orgId))) return { kind: 'ok', record };
  if (event.encryption.algorithm !== FIELD_ALGORITHM) {
    keyMetrics.decryptFailures.inc({ reason: 'malformed' });
    return { kind: 'failed', error: new EngagementError('decrypt_failed', `${event.type} is sealed with unknown algorithm "${event.encryption.algorithm}"`) };
  }
  const key = ctx.keys?.key(event.orgId, event.encryption.keyId);
  if (!key) return refusedAsPurged(event, ctx) ? { kind: 'ok', record } : { kind: 'missing' };
  try {
    return { kind: 'ok', record: { ...record, event: openEvent(event, key, ctx.scope) } };
  } catch (error) {
    if (!(error instanceof FieldCipherError)) throw error;
    keyMetrics.decryptFailures.inc({ reason: 'auth_failed' });
    return { kind: 'failed', error: new EngagementError('decrypt_failed', `${event.type} of org "${event.orgId}" does not open with data key ${event.encryption.keyId}: ${error.message}`) };
  }
}

/** A purged org's record the gate refuses whatever its recipient: it needs no key (a replay of a purged org pays no look-up). */
function refusedAsPurged(event: EmailEvent, ctx: OpenContext): boolean {
  return ctx.history.purgedAt(event.orgId) !== null && !gate(event, ctx.history).collect;
}
