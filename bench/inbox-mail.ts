import { createHash } from 'node:crypto';

/**
 * Real-shaped messages for the inbox scenario: what lands in a busy sender's inbox. Small (1–5 kB),
 * CRLF line ends, each with its own Message-ID, so the count stored can be checked exactly.
 */

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
const date = (i: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, 0) + i * 7_000).toUTCString();
const domainOf = (address: string) => address.replace(/.*@|>.*/g, '');

/**
 * The headers a message gathers on its way in (two hops, a DKIM signature, the receiving server's
 * verdict): about 1.3 kB of every real message, and what a parser spends much of its time on.
 */
function transit(from: string, to: string, i: number): string[] {
  const domain = domainOf(from);
  const signature = createHash('sha512').update(`${from}${i}`).digest('base64').repeat(5);
  return [
    `Return-Path: <${from.replace(/.*<|>.*/g, '')}>`,
    `Delivered-To: ${to}`,
    `Received: from mx.${domain} (mx.${domain} [203.0.113.${i % 250}])`,
    `\tby mx.ourco.example (Postfix) with ESMTPS id 4Q${i.toString(36).padStart(8, '0')}`,
    `\tfor <${to}>; ${date(i)}`,
    `Received: by smtp.${domain} with SMTP id ${i.toString(16)}so${i}; ${date(i)}`,
    `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${domain}; s=20230601; t=${1_796_000_000 + i};`,
    '\th=to:subject:message-id:date:from:in-reply-to:references:mime-version;',
    `\tbh=${signature.slice(0, 44)};`,
    ...Array.from(
      { length: 5 },
      (_, l) => `\t${l === 0 ? 'b=' : ''}${signature.slice(44 + l * 70, 114 + l * 70)}`,
    ),
    `Authentication-Results: mx.ourco.example; dkim=pass header.d=${domain} header.s=20230601;`,
    `\tspf=pass (mx.ourco.example: domain of ${domain} designates 203.0.113.${i % 250} as permitted sender)`,
    `\tsmtp.mailfrom=${domain}; dmarc=pass (p=NONE) header.from=${domain}`,
    `X-Received: by 2002:a05:6808:${(i % 65536).toString(16)} with SMTP id ${i}; ${date(i)}`,
  ];
}

export type LeadThread = { email: string; firstName: string; messageId: string };

/** A lead's answer to our first email, threaded on it, as Gmail writes one (text and HTML, quoted). */
export function leadReply(lead: LeadThread, to: string, i: number): string {
  const boundary = `000000000000reply${i.toString(16).padStart(8, '0')}`;
  const text = [
    'Hi Alex,',
    '',
    'Thanks for reaching out. This is timely: we are hiring two SDRs next quarter.',
    'Could we talk on Thursday afternoon? Anytime after 2pm works for me.',
    '',
    'Best,',
    lead.firstName,
    '',
    `On ${date(i - 1)}, Alex <${to}> wrote:`,
    `> Hi ${lead.firstName},`,
    '>',
    '> I noticed your company is growing its sales team. We help teams like yours',
    '> book more meetings without more headcount. Would a 15-minute call next week',
    '> be useful?',
    '>',
    '> Best,',
    '> Alex',
  ];
  return crlf([
    ...transit(lead.email, to, i),
    `From: ${lead.firstName} <${lead.email}>`,
    `To: Alex <${to}>`,
    'Subject: Re: Quick question',
    `Date: ${date(i)}`,
    `Message-ID: <CAJ${i}x${lead.email.replace(/[^a-z0-9]/gi, '')}@mail.gmail.com>`,
    `In-Reply-To: ${lead.messageId}`,
    `References: ${lead.messageId}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="UTF-8"',
    '',
    ...text,
    '',
    `--${boundary}`,
    'Content-Type: text/html; charset="UTF-8"',
    '',
    `<div dir="ltr">${text
      .slice(0, 7)
      .map((l) => (l ? `<div>${l}</div>` : '<br>'))
      .join(
        '',
      )}</div><br><div class="gmail_quote"><blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">${text
      .slice(9)
      .map((l) => l.replace(/^> ?/, ''))
      .join('<br>')}</blockquote></div>`,
    '',
    `--${boundary}--`,
  ]);
}

const newsletterBody = (i: number) =>
  Array.from(
    { length: 12 },
    (_, p) =>
      `<p style="font-family:Arial,sans-serif;font-size:14px;color:#333">Issue ${i}, part ${p}: ` +
      'what changed in sales tooling this week, three customer stories and the webinar replay.</p>',
  ).join('\n');

/** A message from someone who is not a lead: a newsletter, a colleague, a stranger's reply, an auto-reply, a bounce. */
export function unknownMessage(to: string, i: number): string {
  const head = (from: string, subject: string, extra: string[] = []) => [
    ...transit(from, to, i),
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${date(i)}`,
    `Message-ID: <unknown-${i}@${domainOf(from)}>`,
    'MIME-Version: 1.0',
    ...extra,
  ];
  switch (i % 10) {
    case 0:
    case 1:
    case 2: {
      const boundary = `news-${i}`;
      return crlf([
        ...head('"SalesTools Weekly" <news@salestools.example>', `SalesTools Weekly #${i}`, [
          'List-Unsubscribe: <https://salestools.example/unsubscribe?u=1>',
          `Content-Type: multipart/alternative; boundary="${boundary}"`,
        ]),
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        `Issue ${i}: what changed in sales tooling this week. Read online: https://salestools.example/${i}`,
        '',
        `--${boundary}`,
        'Content-Type: text/html; charset=utf-8',
        '',
        `<html><body>${newsletterBody(i)}</body></html>`,
        '',
        `--${boundary}--`,
      ]);
    }
    case 3:
    case 4:
    case 5:
      return crlf([
        ...head(`Sam Colleague <sam${i % 40}@ourco.example>`, `Pipeline review ${i}`, [
          'Content-Type: text/plain; charset=utf-8',
        ]),
        '',
        'Hi Alex,',
        '',
        `Can you update the numbers for account ${i} before the pipeline review on Friday?`,
        'The board deck goes out Monday morning.',
        '',
        'Thanks,',
        'Sam',
      ]);
    case 6:
    case 7:
      return crlf([
        ...head(`Jordan Prospect <jordan${i}@elsewhere${i % 300}.example>`, 'Re: Intro', [
          `In-Reply-To: <thread-${i}@elsewhere.example>`,
          'Content-Type: text/plain; charset=utf-8',
        ]),
        '',
        'Happy to be introduced, thanks Alex. Next week works.',
        '',
        `On ${date(i - 3)}, Alex <${to}> wrote:`,
        '> Jordan, meet Casey; Casey, meet Jordan.',
      ]);
    case 8:
      return crlf([
        ...head(`Robin Away <robin${i}@partner${i % 200}.example>`, 'Automatic reply: Pipeline review', [
          'Auto-Submitted: auto-replied',
          'Content-Type: text/plain; charset=utf-8',
        ]),
        '',
        'I am out of the office until Monday with limited access to email.',
        'For urgent matters please contact support@partner.example.',
      ]);
    default:
      return crlf([
        ...head(
          'Mail Delivery System <MAILER-DAEMON@mx.elsewhere.example>',
          'Undelivered Mail Returned to Sender',
          [`Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-${i}"`],
        ),
        '',
        `--dsn-${i}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        `<gone${i}@elsewhere.example>: host mx.elsewhere.example said: 550 5.1.1 User unknown`,
        '',
        `--dsn-${i}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.elsewhere.example',
        '',
        `Final-Recipient: rfc822; gone${i}@elsewhere.example`,
        'Action: failed',
        'Status: 5.1.1',
        '',
        `--dsn-${i}`,
        'Content-Type: text/rfc822-headers',
        '',
        `From: Alex <${to}>`,
        `To: gone${i}@elsewhere.example`,
        `Message-ID: <not-ours-${i}@ourco.example>`,
        'Subject: Pipeline review',
        '',
        `--dsn-${i}--`,
      ]);
  }
}

/** The mailbox's own copy of a message it sent (a shared thread, a Bcc to itself): never a reply. */
export function ownCopy(from: string, i: number): string {
  return crlf([
    `From: Alex <${from}>`,
    `To: someone${i}@elsewhere.example`,
    `Subject: Following up ${i}`,
    `Date: ${date(i)}`,
    `Message-ID: <own-${i}@ourco.example>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Just checking in on my note from last week.',
  ]);
}

export type Backlog = { raws: string[]; fromLeads: number; own: number; unknown: number };

/**
 * A busy inbox's backlog of `count` messages: 3 % replies from enrolled leads (threaded on our first
 * emails), 1 % the mailbox's own copies, the rest from people who are not leads. Interleaved, as they
 * would arrive.
 */
export function backlog(count: number, mailbox: string, leads: LeadThread[]): Backlog {
  const fromLeads = Math.min(leads.length, Math.round(count * 0.03));
  const own = Math.round(count * 0.01);
  const raws: string[] = [];
  let nextLead = 0;
  let nextOwn = 0;
  for (let i = 0; i < count; i++) {
    const lead = leads[nextLead];
    if (lead && nextLead < fromLeads && i % Math.floor(count / fromLeads) === 1) {
      raws.push(leadReply(lead, mailbox, i));
      nextLead++;
    } else if (nextOwn < own && i % Math.floor(count / own) === 2) {
      raws.push(ownCopy(mailbox, i));
      nextOwn++;
    } else raws.push(unknownMessage(mailbox, i));
  }
  return { raws, fromLeads: nextLead, own: nextOwn, unknown: count - nextLead - nextOwn };
}
