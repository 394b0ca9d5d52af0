import { describe, expect, it } from 'vitest';
import { emailMetaKey, type EmailMeta } from '../../processors/projector/email-meta.js';
import { horizonOf, horizonRuns } from '../../processors/projector/horizon-runs.js';
import type { EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';

const DAY = 86_400_000;
const H = 4;
const SENT = Date.UTC(2026, 10, 2, 9, 30);
const PAST = horizonOf(SENT, H);
const items = (events: EmailEvent[]) => events.map((event, offset) => ({ offset, event }));
const offsets = (runs: Array<Array<{ offset: number }>>) => runs.map((run) => run.map((r) => r.offset));
const known = (emailId: string): Map<string, EmailMeta> => new Map([[emailMetaKey('org-1', emailId), { sentAt: SENT, senderId: 's', templateId: null, zones: null }]]);
const open = (emailId: string, at: number) => fixture('EmailOpened', { emailId, occurredAt: at });

describe('horizonRuns: a batch cut where an email crosses its horizon', () => {
  it('the horizon is whole seconds after the send, as the fold reckons it', () => {
    expect(horizonOf(SENT + 999, H)).toBe(SENT + H * DAY);
  });

  it('keeps a batch whole when no email has events on both sides of its horizon', () => {
    const batch = items([open('e1', SENT + DAY), open('e2', PAST + 1), open('e1', PAST - 1)]);
    expect(offsets(horizonRuns(batch, known('e1'), H))).toEqual([[0, 1, 2]]);
  });

  it('cuts before the first interaction past the horizon of an email the run holds from before it', () => {
    const batch = items([open('e1', SENT + DAY), open('e2', SENT + DAY), open('e1', PAST), open('e1', PAST + DAY)]);
    expect(offsets(horizonRuns(batch, known('e1'), H))).toEqual([[0, 1], [2, 3]]);
  });

  it('keeps an event back from the far side (out of order) in the life of the hash it finds', () => {
    // the late open brought the hash back until PAST + H: the next, within its send's horizon, writes to it
    const batch = items([open('e1', SENT + DAY), open('e1', PAST), open('e1', SENT + 2 * DAY), open('e9', SENT + DAY)]);
    expect(offsets(horizonRuns(batch, known('e1'), H))).toEqual([[0], [1, 2, 3]]);
  });

  it('an interaction past its send\'s horizon joins a hash that earlier interactions keep alive longer (a send reported late)', () => {
    // opens before the send was known made the hash live to T0 + H; the send's own expiry (NX) does not shorten it
    const T0 = SENT + 2 * DAY;
    const send = fixture('EmailSent', { emailId: 'e5', occurredAt: SENT });
    const batch = items([open('e5', T0), send, open('e5', PAST + DAY)]);
    expect(PAST + DAY).toBeLessThan(horizonOf(T0, H));
    expect(offsets(horizonRuns(batch, new Map(), H))).toEqual([[0, 1, 2]]);
    // at T0 + H it is gone
    expect(offsets(horizonRuns(items([open('e5', T0), send, open('e5', horizonOf(T0, H))]), new Map(), H))).toEqual([[0, 1], [2]]);
  });

  it('an email whose send is unknown lives HISTORY_DAYS from its newest event: cut where the next one finds it gone', () => {
    const newest = SENT + 3 * DAY;
    const batch = items([open('e9', SENT), open('e9', newest), open('e9', horizonOf(newest, H) - 1), open('e9', horizonOf(horizonOf(newest, H) - 1, H))]);
    expect(offsets(horizonRuns(batch, new Map(), H))).toEqual([[0, 1, 2], [3]]);
    // past its send's horizon, the same: the hash the first late event brings back lives from it
    const late = items([open('e1', PAST), open('e1', PAST + 2 * DAY), open('e1', horizonOf(PAST + 2 * DAY, H))]);
    expect(offsets(horizonRuns(late, known('e1'), H))).toEqual([[0, 1], [2]]);
  });

  it("puts a first send on the near side of its horizon, and a retried send on neither", () => {
    const send = fixture('EmailSent', { emailId: 'e3', occurredAt: SENT });
    const late = open('e3', horizonOf(SENT, H) + 5);
    expect(offsets(horizonRuns(items([send, open('e3', SENT + DAY), late]), new Map(), H))).toEqual([[0, 1], [2]]);
    expect(offsets(horizonRuns(items([late, send]), known('e3'), H))).toEqual([[0, 1]]);
  });

  it('keeps a send reported after its first interactions in their run, as the one-run answer does', () => {
    const send = fixture('EmailSent', { emailId: 'e5', occurredAt: SENT + 60_000 });
    const first = open('e5', SENT);
    const unrelated = open('e1', PAST);
    // without the unrelated event the batch is one run without a look at each email; with it, the same
    expect(offsets(horizonRuns(items([first, send]), new Map(), H))).toEqual([[0, 1]]);
    expect(offsets(horizonRuns(items([first, send, unrelated]), known('e1'), H))).toEqual([[0, 1, 2]]);
    // a send after its interactions' hash is gone starts the send's own
    const long = fixture('EmailSent', { emailId: 'e5', occurredAt: horizonOf(SENT, H) });
    expect(offsets(horizonRuns(items([first, long]), new Map(), H))).toEqual([[0], [1]]);
  });
});
