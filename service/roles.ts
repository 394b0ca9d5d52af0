import { EngagementError } from '../core/errors.js';

/** What one `engagement start` process runs; several processes can split the roles. */
export const ROLES = ['api', 'projector', 'lander', 'control', 'retention'] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(raw: string | undefined): Role[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...ROLES];
  const roles = raw.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new EngagementError('bad_request', `unknown role(s) ${unknown.join(', ')}; choose from ${ROLES.join(', ')}`);
  }
  return [...new Set(roles)] as Role[];
}
