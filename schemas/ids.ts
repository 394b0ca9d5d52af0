/**
 * What an id may hold. Ids (org, email, sender, template, recipient, link, attachment) become
 * Redis keys and blob paths, and DESIGN §2.5 says no email address is ever either: an id with
 * "@" is refused wherever one enters (HTTP bodies and paths, /v1/events, `engagement produce`),
 * so a CRM that keys its contacts by address learns it at once instead of leaking it. Pure.
 */

/** The JSON Schema pattern of an id: no "@" (the published request schemas) */
export const ID_PATTERN = '^[^@]*$';

export const ID_AT_PROBLEM = 'must not contain "@": ids become Redis keys and blob paths, which never hold an email address (DESIGN §2.5); send the CRM\'s opaque id';

/** Null for an acceptable id's characters, else what is wrong with them (lengths are the caller's). */
export function idCharsProblem(value: string): string | null {
  return value.includes('@') ? ID_AT_PROBLEM : null;
}
