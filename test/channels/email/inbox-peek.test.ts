import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FetchMessageObject } from 'imapflow';
import { describe, expect, it } from 'vitest';
import { PEEK_HEADERS, toPeeked, UNREAD_MARK } from '../../../src/channels/email/inbox/peek';
import { emailFromRaw } from '../../../src/engine/inbound/email';
import { classifyEmail } from '../../../src/engine/inbound/ingest';

/**
 * The inbox reader decides from a few header fields and the parts' types whether a message's body is
 * needed. Over the inbox corpus, what it reads from the headers must include everything the full
 * parse would match on: the sender's address, the thread's Message-IDs, and every report.
 */
const dir = fileURLToPath(new URL('../../fixtures/inbox/', import.meta.url));
const files = readdirSync(dir).filter((name) => name.endsWith('.eml'));
const NOW = new Date('2027-01-01T00:00:00Z');

/** What an IMAP server answers to `BODY.PEEK[HEADER.FIELDS (…)]`: those fields of the header block. */
function headerFields(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const lines = text.slice(0, end === -1 ? text.length : end).split(/\r?\n(?![ \t])/);
  const kept = lines.filter((line) => PEEK_HEADERS.includes(line.slice(0, line.indexOf(':')).toLowerCase()));
  return Buffer.from(`${kept.join('\r\n')}\r\n\r\n`, 'latin1');
}

async function both(file: string) {
  const raw = readFileSync(`${dir}${file}`);
  const full = await emailFromRaw(raw, NOW);
  const mail = await import('mailparser').then((m) =>
    m.simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: true }),
  );
  const top = full.headers['content-type']?.split(';')[0]?.trim() ?? 'text/plain';
  const message = {
    seq: 1,
    uid: 1,
    headers: headerFields(raw),
    bodyStructure: { type: top, childNodes: mail.attachments.map((a) => ({ type: a.contentType })) },
  } as FetchMessageObject;
  const peek = toPeeked(message, NOW);
  if (!peek) throw new Error(`${file}: nothing peeked`);
  return { full, peek };
}

describe('reading the headers first', () => {
  it.each(files)(
    '%s: the header fields name its sender, its thread and whether it may be a report',
    async (file) => {
      const { full, peek } = await both(file);
      if (full.fromAddress) expect(peek.senders).toContain(full.fromAddress);
      for (const id of [full.inReplyTo, ...full.references]) if (id) expect(peek.threadIds).toContain(id);
      expect(peek.email.messageId).toBe(full.messageId);
      const kind = classifyEmail(full).kind;
      if (kind === 'bounce' || kind === 'complaint') expect(peek.mayBeReport).toBe(true);
      expect(peek.email.text).toBeNull();
      expect(peek.email.headers[UNREAD_MARK]).toMatch(/^not read/);
    },
  );

  it('a newsletter from nobody we know is no report: its body need not be read', async () => {
    const raw = Buffer.from(
      [
        'From: "SalesTools Weekly" <news@salestools.example>',
        'To: alex@ourco.example',
        'Subject: =?UTF-8?Q?Weekly_#12_=E2=80=94_what_changed?=',
        'Message-ID: <news-12@salestools.example>',
        'Content-Type: multipart/alternative; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'Read online.',
        '--b--',
        '',
      ].join('\r\n'),
    );
    const peek = toPeeked({ seq: 1, uid: 7, headers: headerFields(raw) } as FetchMessageObject, NOW);
    expect(peek).toMatchObject({
      uid: 7,
      senders: ['news@salestools.example'],
      threadIds: ['<news-12@salestools.example>'],
      mayBeReport: false,
    });
    expect(peek?.email.subject).toBe('Weekly #12 — what changed');
  });
});
