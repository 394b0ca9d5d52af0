/**
 * What an id that may name a person or an organisation may hold. Org, recipient, sender and
 * template ids become Redis keys and blob paths, and DESIGN §2.5 says no email address is ever
 * either: such an id with "@" is refused wherever something is created or switched on under it (a
 * send, an email event, an enable, a renewal, an "allow", a resolution; through the API,
 * /v1/events or `engagement produce`), so a CRM that keys its contacts by address learns it at
 * once instead of leaking it. Not refused: an emailId (a Message-ID `<x@host>` is a natural one),
 * reads, and the protective writes (switching an org off, ending its subscription, an opt-out),
 * which must stay possible for ids stored before this rule. Pure.
 */

/** The JSON Schema pattern of such an id: no "@" (the published request schemas) */
export const ID_PATTERN = '^(?!.*(?:%40|\\uFF20|\\uFE6B))[^@]*$';

export const ID_AT_PROBLEM = 'must not contain "@" (nor %40, ＠ or ﹫): ids become Redis keys and blob paths, which never hold an email address (DESIGN §2.5); send the CRM\'s opaque id';

/** "@", and the same in disguise: percent-encoded, full-width (U+FF20) or small (U+FE6B) */
const AT_SIGN = /@|%40|\uFF20|\uFE6B/i;

/**
 * Null for an acceptable id's characters, else what is wrong with them (lengths are the caller's).
 * Also names control keys: an org id it finds wrong is kept under a digest (projections/keys.ts
 * controlOrgRef), so a change here renames such keys (the control role moves them at its start).
 */
export function idCharsProblem(value: string): string | null {
  return AT_SIGN.test(value) ? ID_AT_PROBLEM : null;
}

/** The ids of an email event that may name a person or an org (its body, and each recipient's) */
export const PERSONAL_ID_FIELDS: readonly string[] = ['orgId', 'contactId', 'senderId', 'templateId'];

/** Control events that only ever protect (switch off, end, opt out): taken whatever the ids hold. */
export function protectiveControl(type: string, allow: unknown): boolean {
  return type === 'OrgEngagementDisabled' || type === 'SubscriptionEnded' || (type === 'ContactFollowPreferenceChanged' && allow === false);
}
