import { describe, expect, it } from 'vitest';
import { keyResolver, mayActOn } from '../../api/auth.js';

const resolve = keyResolver({ adminKey: 'admin-secret', apiKeys: new Map([['org-a', 'key-a'], ['org-b', 'key-b'], ['org-c', 'key-a']]) });

describe('keyResolver', () => {
  it('resolves the admin key to an admin acting on every org', () => {
    const admin = resolve('admin-secret')!;
    expect(admin.admin).toBe(true);
    expect(mayActOn(admin, 'anything')).toBe(true);
  });

  it('resolves an org key to its orgs only', () => {
    const a = resolve('key-a')!;
    expect(a.admin).toBe(false);
    expect([...a.orgIds].sort()).toEqual(['org-a', 'org-c']);
    expect(mayActOn(a, 'org-b')).toBe(false);
  });

  it('refuses unknown keys and prefixes of known ones', () => {
    expect(resolve('nope')).toBeNull();
    expect(resolve('key-')).toBeNull();
    expect(resolve('admin-secret ')).toBeNull();
  });
});
