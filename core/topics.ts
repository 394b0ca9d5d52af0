/** Topic names are built here and nowhere else. */

import type { Config } from './config.js';

export interface Topics {
  control: string;
  emails: string;
  deadletter: string;
  /** data keys of the organisations (compacted, key orgId): crypto-shredding, DESIGN §2 */
  keys: string;
}

export function topicsFor(config: Pick<Config, 'topicPrefix'>): Topics {
  return {
    control: `${config.topicPrefix}.control`,
    emails: `${config.topicPrefix}.emails`,
    deadletter: `${config.topicPrefix}.deadletter`,
    keys: `${config.topicPrefix}.keys`,
  };
}

/** Message keys of DESIGN.md §3: orgId on control, orgId + emailId on emails. */
export function controlKey(orgId: string): string {
  return orgId;
}

export function emailKey(orgId: string, emailId: string): string {
  return `${orgId}/${emailId}`;
}
