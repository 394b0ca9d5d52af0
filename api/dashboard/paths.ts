/** Every dashboard URL is built here. */
const e = encodeURIComponent;
export const dashboardPaths = {
  home: '/dashboard',
  signIn: '/dashboard/sign-in',
  operations: '/dashboard/operations',
  org: (orgId: string) => `/dashboard/orgs/${e(orgId)}`,
  find: (orgId: string) => `/dashboard/orgs/${e(orgId)}/find`,
  email: (orgId: string, emailId: string) => `/dashboard/orgs/${e(orgId)}/emails/${e(emailId)}`,
  recipient: (orgId: string, segment: string, id: string) => `/dashboard/orgs/${e(orgId)}/${segment}/${e(id)}`,
};
