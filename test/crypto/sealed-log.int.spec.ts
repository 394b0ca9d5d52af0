/**
 * Crypto-shredding at the producers (DESIGN §2 "Purge reaches the log"): whatever route writes
 * an email event (send, pixel, click, attachment, ingest), its personal fields reach the emails
 * topic sealed. A plain consumer searching the bytes finds no recipient id, subject, URL or user
 * agent; a reader holding the keys topic opens them all.
 */

import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { decodeEvent } from '../../schemas/codec.js';
import type { EmailEvent } from '../../schemas/events.js';
import { testGroupId, waitFor } from '../support/env.js';
import { KEYS, bearer, startApiHarness, startTopicReader, type ApiHarness } from '../producers/support/api-harness.js';
import type { EmailSendResponse } from '../producers/support/types.js';

let h: ApiHarness;
let reader: Awaited<ReturnType<typeof startTopicReader>>;
const raw: Buffer[] = [];
let plain: Consumer;

beforeAll(async () => {
  h = await startApiHarness();
  reader = await startTopicReader(h.config, [topicsFor(h.config).emails]);
  plain = createKafka(h.config).consumer({ groupId: testGroupId(h.config, `plain-${randomUUID()}`) });
  await plain.connect();
  await plain.subscribe({ topic: topicsFor(h.config).emails, fromBeginning: true });
  await plain.run({ eachMessage: async ({ message }) => void raw.push(message.value!) });
});

afterAll(async () => {
  await plain?.disconnect();
  await reader?.stop();
  await h?.close();
});

const path = (url: string) => new URL(url).pathname;

describe('the emails topic holds no personal field in clear', () => {
  it('a unique recipient id, subject, URL and user agent never appear in the raw bytes of any record; a reader with the keys opens them', { timeout: 60_000 }, async () => {
    const enabled = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: true } });
    expect(enabled.statusCode).toBe(200);
    expect(h.keys.current('org-a')).toBeDefined(); // created on enable

    const secret = randomUUID().slice(0, 8);
    const recipient = `rcpt-${secret}`;
    const subject = `Subject ${secret}`;
    const url = `https://example.com/${secret}`;
    const agent = `Agent/${secret}`;
    const attachment = `deck-${secret}.pdf`;
    const emailId = `e-${randomUUID()}`;
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/orgs/org-a/emails',
      headers: bearer(KEYS.a),
      payload: {
        emailId,
        senderId: 's-1',
        subject,
        recipients: [{ contactId: recipient, type: 'contact' }],
        links: [{ url }],
        attachments: [{ name: attachment, url: `https://files.example.com/${secret}` }],
        follow: true,
      },
    });
    expect(res.statusCode).toBe(201);
    const r = res.json<EmailSendResponse>().recipients[0]!;
    // nothing personal in the tracking URLs either
    for (const tracked of [r.openPixelUrl, r.links[0]!.trackedUrl, r.attachments[0]!.trackedUrl]) {
      expect(tracked).not.toContain(secret);
      const token = path(tracked).split('/').pop()!;
      for (const part of token.split('.')) expect(Buffer.from(part, 'base64url').includes(Buffer.from(secret))).toBe(false);
    }
    expect((await h.app.inject({ method: 'GET', url: path(r.openPixelUrl), headers: { 'user-agent': agent } })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: path(r.links[0]!.trackedUrl), headers: { 'user-agent': agent } })).statusCode).toBe(302);
    expect((await h.app.inject({ method: 'GET', url: path(r.attachments[0]!.trackedUrl), headers: { 'user-agent': agent } })).statusCode).toBe(302);
    const ingest = await h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(KEYS.admin),
      payload: [{ type: 'EmailReplied', orgId: 'org-a', emailId, contactId: recipient }],
    });
    expect(ingest.statusCode).toBeLessThan(300);

    const mine = await waitFor(() => {
      const events = reader.messages.map((m) => m.event as EmailEvent).filter((e) => e.emailId === emailId);
      return events.length >= 5 ? events : undefined;
    }, { message: 'the five events of the email, opened' });
    await h.producer.flush();
    await waitFor(() => raw.length >= reader.messages.length, { message: 'the plain consumer has every record' });

    // opened with the keys: every personal value is there
    expect(mine.map((e) => e.type).sort()).toEqual(['AttachmentViewed', 'EmailOpened', 'EmailReplied', 'EmailSent', 'LinkClicked']);
    for (const e of mine) expect(e.type === 'EmailSent' ? e.recipients[0]!.contactId : e.contactId).toBe(recipient);
    expect(mine.find((e) => e.type === 'EmailSent')).toMatchObject({ subject, links: [{ url }], attachments: [{ name: attachment }] });
    expect(mine.find((e) => e.type === 'LinkClicked')).toMatchObject({ url, userAgent: agent });

    // on the topic: sealed, and the secret in no record's bytes
    for (const bytes of raw) expect(bytes.includes(Buffer.from(secret)), 'a record holds a personal value in clear').toBe(false);
    const sealed = raw.map((b) => decodeEvent(b) as EmailEvent).filter((e) => e.emailId === emailId);
    expect(sealed).toHaveLength(5);
    for (const e of sealed) expect(e.encryption).toEqual({ algorithm: 'A256GCM', keyId: h.keys.current('org-a')!.keyId });

    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^engagement_keys_cached [1-9]/m);
    expect(metrics).toContain('engagement_decrypt_failures_total');
  });

  it('refuses an event that claims to be sealed already (sealing is the pipeline\'s)', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(KEYS.admin),
      payload: [{ type: 'EmailReplied', orgId: 'org-a', emailId: 'e-x', contactId: 'c-x', encryption: { algorithm: 'A256GCM', keyId: 'forged' } }],
    });
    expect(JSON.stringify(res.json())).toMatch(/encryption/);
  });
});
