/**
 * What an id that may name a person or an organisation may hold. Org, recipient, sender and
 * template ids become Redis keys and blob paths, and DESIGN §2.5 says no email address is ever
 * either: such an id with "@" is refused wherever data is created under it (a send, an email
 * event through /v1/events or `engagement produce`), so a CRM that keys its contacts by address
 * learns it at once instead of leaking it. Not refused: an emailId (a Message-ID `<x@host>` is a
 * natural one, and names no person), and the protective control writes (a switch, an opt-out, a
 * subscription end) and reads, which must stay possible for ids stored before this rule
 * (preferences are kept as keyed hashes, never under the id). Pure.
 */

/** The JSON Schema pattern of such an id: no "@" (the published request schemas) */
export const ID_PATTERN = '^[^@]*$';

export const ID_AT_PROBLEM = 'must not contain "@": ids become Redis keys and blob paths, which never hold an email address (DESIGN §2.5); send the CRM\'s opaque id';

/** Null for an acceptable id's characters, else what is wrong with them (lengths are the caller's). */
export function idCharsProblem(value: string): string | null {
  return value.includes('@') ? ID_AT_PROBLEM : null;
}

/** The ids of an email event that may name a person or an org (its body, and each recipient's) */
export const PERSONAL_ID_FIELDS: readonly string[] = ['orgId', 'contactId', 'senderId', 'templateId'];
