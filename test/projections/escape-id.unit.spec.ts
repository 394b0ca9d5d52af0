import { describe, expect, it } from 'vitest';
import { controlOrgRef, escapeId, keysFor, legacyControlKeys, recipientRef } from '../../projections/keys.js';

describe('escapeId', () => {
  it('returns an id without %, :, { or } as it is', () => {
    expect(escapeId('3f2a-contact_7.x@example.com')).toBe('3f2a-contact_7.x@example.com');
    expect(escapeId('')).toBe('');
  });

  it('escapes every %, :, { and } (the key separators and hash tags), % first-class', () => {
    expect(escapeId('a:b{c}d%e:')).toBe('a%3Ab%7Bc%7Dd%25e%3A');
    expect(recipientRef('lead', 'x:y')).toBe('x%3Ay%lead');
  });
});

describe('controlOrgRef: the org in a control key', () => {
  const keys = keysFor('eng');

  it('is the escaped id for an id without an at sign (the names of stored orgs do not change)', () => {
    expect(controlOrgRef('acme-1:x')).toBe('acme-1%3Ax');
    expect(keys.controlOrg('acme-1')).toBe('eng:ctl:org:acme-1');
    expect(legacyControlKeys(keys, 'acme-1')).toBeNull();
  });

  it('is a digest for an id with an at sign, in any of its disguises: no control key holds the address (DESIGN §2.5)', () => {
    for (const org of ['jane@example.com', 'jane%40example.com', 'jane＠example.com', 'jane﹫example.com']) {
      const names = [keys.controlOrg(org), keys.controlContacts(org), keys.controlRecipients(org, 'lead'), keys.controlRecipients(org, 'account'), keys.suppression(org)];
      for (const name of names) {
        expect(name).toMatch(/:%#[0-9a-f]{32}$/);
        expect(name).not.toContain('jane');
      }
    }
    expect(controlOrgRef('jane@example.com')).not.toBe(controlOrgRef('jane@example.org'));
    expect(controlOrgRef('jane@example.com')).toBe(controlOrgRef('jane@example.com'));
  });

  it('cannot be forged: an id spelling a digest is escaped, so it names another key', () => {
    const digest = controlOrgRef('jane@example.com');
    expect(controlOrgRef(digest)).not.toBe(digest);
    expect(controlOrgRef(digest)).toBe(`%25${digest.slice(1)}`);
  });

  it('lists the names such an id had before, for the control role to drop', () => {
    expect(legacyControlKeys(keys, 'jane@example.com')).toEqual({
      state: ['eng:ctl:org:jane@example.com', 'eng:ctl:contacts:jane@example.com', 'eng:ctl:leads:jane@example.com', 'eng:ctl:accounts:jane@example.com'],
      suppression: 'eng:suppress:jane@example.com',
    });
  });
});
