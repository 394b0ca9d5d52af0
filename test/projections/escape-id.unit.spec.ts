import { describe, expect, it } from 'vitest';
import { escapeId, recipientRef } from '../../projections/keys.js';

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
