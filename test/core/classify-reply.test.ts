import { describe, expect, it } from 'vitest';
import { classifyReply, htmlToText, type ReplyInput, stripQuoted } from '../../src/core/classify-reply';
import { findReturnDate } from '../../src/core/return-date';

/** Monday 3 March 2025, 10:00 UTC: the day every sample "arrives". */
const received = new Date('2025-03-03T10:00:00Z');

const quotedFooter = `

On Mon, 3 Mar 2025 at 09:00, Sales Team <sales@acme.test> wrote:
> Hi Jane, would a 15-minute call next week work?
> Not interested? Unsubscribe here: https://acme.test/u/abc`;

const cases: { name: string; input: ReplyInput; kind: string; extra?: Record<string, unknown> }[] = [
  {
    name: 'plain human answer quoting our footer with "Unsubscribe"',
    input: { subject: 'Re: Quick question', text: `Sounds good, Tuesday works for me.${quotedFooter}` },
    kind: 'human',
  },
  {
    name: 'human answer that talks about holidays under a Re: subject',
    input: { subject: 'Re: Out of office planning for your team', text: 'Yes, tell me more.' },
    kind: 'human',
  },
  {
    name: 'Outlook French attribution and header block are cut',
    input: {
      subject: 'RE: Offre',
      text: 'Merci, appelez-moi demain.\n\nDe : Sales <sales@acme.test>\nEnvoyé : lundi 3 mars 2025\nÀ : Jeanne\nObjet : Offre\n\nSe désinscrire : https://acme.test/u/x',
    },
    kind: 'human',
  },
  {
    name: 'RFC 3834 Auto-Submitted: auto-replied with an English return date',
    input: {
      subject: 'Re: Quick question',
      headers: { 'auto-submitted': 'auto-replied' },
      text: 'Thanks for your message. I am travelling and will be back on 17 March 2025.',
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 17 } },
  },
  {
    name: 'Auto-Submitted: no is a human message',
    input: { subject: 'Re: hi', headers: { 'auto-submitted': 'no' }, text: 'Call me.' },
    kind: 'human',
  },
  {
    name: 'X-Autoreply: yes without a date',
    input: { subject: 'Re: hi', headers: { 'x-autoreply': 'yes' }, text: 'I will answer soon.' },
    kind: 'auto_reply',
    extra: { returnDate: null },
  },
  {
    name: 'Precedence: auto_reply',
    input: { subject: 'Re: hi', headers: { precedence: 'auto_reply' }, text: 'Away.' },
    kind: 'auto_reply',
  },
  {
    name: 'Outlook "Automatic reply:" subject, back on a weekday',
    input: {
      subject: 'Automatic reply: Quick question',
      text: 'I am out of the office with limited access to email. I will be back on Thursday.',
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 6 } },
  },
  {
    name: 'English "until" names the last day away',
    input: { subject: 'Out of Office', text: 'I am on annual leave until March 14th.' },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 15 } },
  },
  {
    name: 'French out-of-office, de retour le 17/03',
    input: {
      subject: 'Réponse automatique : Votre projet',
      text: "Bonjour, je suis absente du bureau. Je serai de retour le 17/03. En cas d'urgence, contactez Paul.",
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 17 } },
  },
  {
    name: 'French range "du 3 au 14 mars"',
    input: { subject: 'Absent du bureau', text: 'Je suis en congés du 3 au 14 mars inclus.' },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 15 } },
  },
  {
    name: 'German Abwesenheitsnotiz, bis zum 14. März',
    input: {
      subject: 'Abwesenheitsnotiz: Ihr Angebot',
      text: 'Vielen Dank für Ihre Nachricht. Ich bin bis zum 14. März nicht im Büro.',
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 15 } },
  },
  {
    name: 'German Automatische Antwort, ab dem 10.03.2025 wieder erreichbar',
    input: {
      subject: 'Automatische Antwort: Termin',
      text: 'Ich bin im Urlaub und ab dem 10.03.2025 wieder erreichbar.',
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 10 } },
  },
  {
    name: 'Spanish Respuesta automática, hasta el 14 de marzo',
    input: {
      subject: 'Respuesta automática: Propuesta',
      text: 'Estoy fuera de la oficina hasta el 14 de marzo. Volveré el lunes 17.',
    },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 3, day: 15 } },
  },
  {
    name: 'Spanish body-only opening without headers',
    input: { subject: 'Re: Propuesta', text: 'Estoy de vacaciones. Regreso el 2 de abril.' },
    kind: 'auto_reply',
    extra: { returnDate: { year: 2025, month: 4, day: 2 } },
  },
  {
    name: 'Postfix DSN multipart/report, failed',
    input: {
      subject: 'Undelivered Mail Returned to Sender',
      headers: {
        from: 'Mail Delivery System <MAILER-DAEMON@mx.example.net>',
        'content-type': 'multipart/report; report-type=delivery-status; boundary="b"',
        'auto-submitted': 'auto-replied',
      },
      text: 'Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; Nobody@Example.org\nAction: failed\nStatus: 5.1.1\n',
      attachedHeaders: 'From: sales@acme.test\nMessage-ID: <orig-1@acme.test>\n',
    },
    kind: 'bounce',
    extra: { permanent: true, recipient: 'nobody@example.org', originalMessageId: '<orig-1@acme.test>' },
  },
  {
    name: 'DSN with Action: delayed is not permanent',
    input: {
      subject: 'Delayed Mail (still being retried)',
      headers: { 'content-type': 'multipart/report; report-type="delivery-status"' },
      text: 'Final-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.4.1\n',
    },
    kind: 'bounce',
    extra: { permanent: false, recipient: 'slow@example.org' },
  },
  {
    name: 'Gmail-style bounce without a report part, X-Failed-Recipients',
    input: {
      subject: 'Delivery Status Notification (Failure)',
      headers: {
        from: 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'x-failed-recipients': 'ghost@example.org',
      },
      text: "Your message wasn't delivered to ghost@example.org because the address couldn't be found.",
    },
    kind: 'bounce',
    extra: { permanent: true, recipient: 'ghost@example.org', originalMessageId: null },
  },
  {
    name: 'a human mentioning a delivery failure is not a bounce',
    input: {
      subject: 'Re: Undelivered Mail',
      headers: { from: 'jane@example.org' },
      text: 'Got it, thanks.',
    },
    kind: 'human',
  },
  { name: 'English "unsubscribe"', input: { subject: 'Re: hi', text: 'Unsubscribe' }, kind: 'unsubscribe' },
  {
    name: 'English "remove me"',
    input: { subject: 'Re: hi', text: 'Please remove me from your list.' },
    kind: 'unsubscribe',
  },
  {
    name: 'French "désinscrire"',
    input: { subject: 'RE: offre', text: 'Merci de me désinscrire de vos envois.' },
    kind: 'unsubscribe',
  },
  {
    name: 'German "austragen"',
    input: { subject: 'AW: Angebot', text: 'Bitte tragen Sie mich aus. Bitte austragen!' },
    kind: 'unsubscribe',
  },
  {
    name: 'Spanish "darme de baja"',
    input: { subject: 'RE: propuesta', text: 'Por favor, darme de baja.' },
    kind: 'unsubscribe',
  },
  { name: 'empty message is human', input: {}, kind: 'human' },
];

describe('classifyReply', () => {
  it.each(cases)('$name → $kind', ({ input, kind, extra }) => {
    const result = classifyReply(input, received);
    expect(result.kind).toBe(kind);
    if (extra) expect(result).toMatchObject(extra);
  });
});

describe('findReturnDate', () => {
  const table: [string, string | null][] = [
    ['back on 2025-03-20', '2025-03-20'],
    ['I will return on March 10, 2025.', '2025-03-10'],
    ['returning 12/03', '2025-03-12'], // 12 March is nearer than 3 December
    ['back 3/12', '2025-03-12'], // US order read because it is the nearer date
    ['back on Monday', '2025-03-10'], // the message day is a Monday: the next one
    ['de retour lundi 10 mars', '2025-03-10'],
    ['zurück am 31.02.', null], // not a real date
    ['back on 2024-12-01', null], // in the past
    ['back on 2026-12-01', null], // beyond the horizon
    ['I will get back to you soon.', null],
    // Relative days, read by chrono-node after a keyword.
    ['back tomorrow', '2025-03-04'],
    ['Je serai de retour demain.', '2025-03-04'],
    ['ab morgen wieder erreichbar', '2025-03-04'],
    ['out until tomorrow', '2025-03-05'],
    ['I am back in two weeks.', '2025-03-17'],
    ['back at 3pm', null], // no day of its own
    ['', null],
  ];
  const iso = (text: string, at: Date) => {
    const date = findReturnDate(text, at);
    return date
      ? `${date.year}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`
      : null;
  };
  it.each(table)('%s → %s', (text, expected) => {
    expect(iso(text, received)).toBe(expected);
  });

  it('reads a date without a year as the next one: 5 January seen in December is next year', () => {
    expect(iso('Back on 5 January.', new Date('2025-12-20T12:00:00Z'))).toBe('2026-01-05');
  });
});

describe('stripQuoted and htmlToText', () => {
  it('keeps the new text and drops the quote after a wrapped Gmail attribution', () => {
    const text = 'Yes please.\n\nOn Mon, 3 Mar 2025 at 09:00, Sales Team <sales@acme.test>\nwrote:\n> old';
    expect(stripQuoted(text)).toBe('Yes please.');
  });

  it('turns HTML into text without the quoted blockquote', () => {
    const html = '<div>Let&#39;s talk<br>Jane</div><blockquote>unsubscribe</blockquote>';
    expect(htmlToText(html)).toBe("Let's talk\nJane");
  });

  it('leaves out scripts, styles and link targets', () => {
    const html =
      '<head><style>p{}</style></head><p>Call <a href="https://x.test/unsubscribe">me</a></p><script>x()</script>';
    expect(htmlToText(html)).toBe('Call me');
  });

  it('reads a long line ending in "wrote" and more as text, not as an attribution', () => {
    expect(stripQuoted(`Sure.\non x wrote${' '.repeat(500)}x`)).toBe(`Sure.\non x wrote${' '.repeat(500)}x`);
  });
});
