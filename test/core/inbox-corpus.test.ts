import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyReply, type ReplyInput } from '../../src/core/classify-reply';
import { emailFromRaw, isOwnMessage } from '../../src/engine/inbound/email';
import { classifyEmail } from '../../src/engine/inbound/ingest';

/**
 * The inbox corpus (test/fixtures/inbox): real-shaped messages from Gmail, Outlook, Apple Mail,
 * webmails, Exchange, Postfix, Exim and feedback loops, each parsed as the raw MIME webhook and the
 * inbox reader parse it, then classified as `ingestEmail` classifies it.
 */
const dir = fileURLToPath(new URL('../fixtures/inbox/', import.meta.url));
const MAILBOX = 'sdr@ourco.example';
/** Later than every fixture's Date header, so each keeps its own (a future date would become now). */
const NOW = new Date('2027-01-01T00:00:00Z');

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .transform((iso) => {
    const [year = 0, month = 0, day = 0] = iso.split('-').map(Number);
    return { year, month, day };
  });
const inReplyTo = z.string().nullable();
const Entry = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('human'),
    inReplyTo,
    intent: z.enum(['interested', 'not_interested', 'other']),
  }),
  z.strictObject({ kind: z.literal('unsubscribe'), inReplyTo }),
  z.strictObject({ kind: z.literal('own'), inReplyTo }),
  z.strictObject({ kind: z.literal('receipt'), inReplyTo }),
  z.strictObject({ kind: z.literal('auto_reply'), inReplyTo, returnDate: Day.nullable() }),
  z.strictObject({
    kind: z.literal('bounce'),
    inReplyTo,
    permanent: z.boolean(),
    recipient: z.string().nullable(),
    originalMessageId: z.string().nullable(),
  }),
  z.strictObject({
    kind: z.literal('complaint'),
    inReplyTo,
    recipient: z.string().nullable(),
    originalMessageId: z.string().nullable(),
  }),
]);

const expected = z.record(z.string(), Entry).parse(parse(readFileSync(`${dir}expected.yaml`, 'utf8')));
const files = readdirSync(dir).filter((name) => name.endsWith('.eml'));

describe('inbox corpus', () => {
  it('has at least 30 messages, each with one expected outcome and no outcome without a message', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
  });

  it.each(Object.entries(expected))('%s', async (file, entry) => {
    const email = await emailFromRaw(readFileSync(`${dir}${file}`), NOW);
    expect(email.inReplyTo).toBe(entry.inReplyTo);
    const { inReplyTo: _, ...outcome } = entry;
    if (outcome.kind === 'own') {
      expect(isOwnMessage(email, MAILBOX)).toBe(true);
      return;
    }
    expect(isOwnMessage(email, MAILBOX)).toBe(false);
    expect(classifyEmail(email)).toEqual(outcome);
  });
});

const MiB = 1024 * 1024;
/** `unit` repeated after `prefix` to 1 MiB. */
const fill = (unit: string, prefix = '') =>
  prefix + unit.repeat(Math.floor((MiB - prefix.length) / unit.length));
const daemon = { from: 'Mail Delivery System <MAILER-DAEMON@mx.example.net>' };

/**
 * Hostile input at the size limit for every pattern the report reader and the return dates added: each
 * classification completes (test/security/reply-parsing.test.ts times the older ones against a baseline).
 */
describe('reading reports and return dates from a hostile 1 MiB message completes', () => {
  const received = new Date('2026-02-02T10:00:00Z');
  const bounce = (text: string, headers: Record<string, string> = {}): ReplyInput => ({
    subject: 'Undelivered Mail Returned to Sender',
    headers: { ...daemon, ...headers },
    text,
  });
  const arf = (part: Partial<ReplyInput>): ReplyInput => ({
    subject: 'abuse report',
    headers: { 'content-type': 'multipart/report; report-type=feedback-report' },
    text: 'This is an email abuse report.',
    ...part,
  });
  const ooo = (text: string): ReplyInput => ({ subject: 'Out of office', text });
  const cases: [string, ReplyInput, string][] = [
    ['"Your message to " and no space', bounce(fill('a', 'Your message to ')), 'bounce'],
    ['"Your message to x@" and no space', bounce(fill('a', 'Your message to x@')), 'bounce'],
    [
      'Exchange\'s recipient list with no "("',
      bounce(fill('a', 'Delivery has failed to these recipients or groups:\n')),
      'bounce',
    ],
    ['Exim\'s failed list of "@"s', bounce(fill('@', 'The following address(es) failed:\n  ')), 'bounce'],
    ['lines of "<a" (Postfix recipients)', bounce(fill('<a\n')), 'bounce'],
    ['one "<" and no ">"', bounce(fill('a', '<')), 'bounce'],
    ['1 MiB of "-" (the returned-message marker)', bounce(fill('-')), 'bounce'],
    ['lines of dashes', bounce(fill('------ \n')), 'bounce'],
    ['a recipient of dots', bounce(fill('.', 'failed permanently:\n  x@y')), 'bounce'],
    ['"Message-ID: <" and no end', bounce(fill('a', 'Message-ID: <')), 'bounce'],
    [
      'a delivery-status part of "Final-Recipient" and no end',
      {
        ...bounce('x'),
        reportType: 'message/delivery-status',
        reportText: fill('a', 'Final-Recipient: rfc822; '),
      },
      'bounce',
    ],
    [
      'an attached header block without an empty line',
      { ...bounce('x'), attachedHeaders: fill('Received: x\n ') },
      'bounce',
    ],
    [
      'a feedback report of "Original-Rcpt-To: <" and no end',
      arf({ reportText: fill('a', 'Original-Rcpt-To: <') }),
      'complaint',
    ],
    [
      'a feedback report of "Feedback-Type:" and spaces',
      arf({ reportText: fill(' ', 'Feedback-Type:') }),
      'complaint',
    ],
    ['an original To of 1 MiB without "@"', arf({ attachedHeaders: fill('a', 'To: ') }), 'complaint'],
    ['an original To of 1 MiB of "@"', arf({ attachedHeaders: fill('@', 'To: ') }), 'complaint'],
    ['a notice of many "wasn\'t delivered to"', { ...bounce(fill("wasn't delivered to ")) }, 'bounce'],
    [
      'an out-of-office of "bis Montag, 2. Februar" over and over',
      ooo(fill('bis Montag, 2. Februar ')),
      'auto_reply',
    ],
    [
      'an out-of-office of "until … back on …" over and over',
      ooo(fill('until 6 February, back on 9 February. ')),
      'auto_reply',
    ],
    ['an out-of-office of weekdays', ooo(fill(' on Monday, the', 'back')), 'auto_reply'],
    [
      'a reply of "Från:"/"Skickat:" lines',
      { subject: 'SV: x', text: fill('Från: x\nSkickat: y\n') },
      'human',
    ],
  ];
  it.each(cases)('%s', (_name, input, kind) => {
    expect(classifyReply(input, received).kind).toBe(kind);
  });
});
