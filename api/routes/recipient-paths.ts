import type { RecipientType } from '../../schemas/events.js';

/** The URL segment of each recipient type: `/v1/orgs/:orgId/{contacts|leads|accounts}/:id/…`. */
export const RECIPIENT_PATHS: ReadonlyArray<readonly [string, RecipientType]> = [
  ['contacts', 'contact'],
  ['leads', 'lead'],
  ['accounts', 'account'],
];
