/** Topic names are built here and nowhere else. */

import type { Config } from './config.js';

export interface Topics {
  control: string;
  emails: string;
  deadletter: string;
}

export function topicsFor(config: Pick<Config, 'topicPrefix'>): Topics {
  return {
    control: `${config.topicPrefix}.control`,
    emails: `${config.topicPrefix}.emails`,
    deadletter: `${config.topicPrefix}.deadletter`,
  };
}

/** Message keys of DESIGN.md §3: orgId on control, orgId + emailId on emails. */
export function controlKey(orgId: string): string {
  return orgId;
}

export function emailKey(orgId: string, emailId: string): string {
  return `${orgId}/${emailId}`;
}
