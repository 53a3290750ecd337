import { type BounceClass, type ComplaintClass, readBounce, readComplaint } from './delivery-reports';
import { type CalendarDate, findReturnDate } from './return-date';
import { type HumanIntent, replyIntent } from './reply-intent';

export { htmlToText } from './reply-html';

/** What an inbound message is, as far as the cadence is concerned. */
export type ReplyClass =
  /** A person's answer; `intent` is what it says about the offer (absent when it was not read). */
  | { kind: 'human'; intent?: HumanIntent }
  | { kind: 'unsubscribe' }
  /** Auto-reply or out-of-office; `returnDate` when the text names one. */
  | { kind: 'auto_reply'; returnDate: CalendarDate | null }
  /** Delivery report. `permanent` is false for "delayed" (4.x.x) reports. */
  | BounceClass
  /** Feedback report (ARF): the recipient marked our message as spam. */
  | ComplaintClass
  /** A read receipt (RFC 8098 disposition notification): the lead's client, not the lead, answered. */
  | { kind: 'receipt' };

export type ReplyInput = {
  subject?: string | null;
  /** Plain-text body; callers convert HTML-only bodies with `htmlToText`. */
  text?: string | null;
  /** Header names lower-cased. */
  headers?: Record<string, string>;
  /** Headers of the original message when a report carries them (text/rfc822-headers, message/rfc822). */
  attachedHeaders?: string | null;
  /** A report's machine-readable part: its type (`message/delivery-status`, `message/feedback-report`) and text. */
  reportType?: string | null;
  reportText?: string | null;
};

export type { CalendarDate };

/**
 * Body text read, in characters: a reply's answer, an auto-reply's opening and a report's fields
 * come first, and a body can be 1 MiB. Every pattern below is linear; this keeps them quick too.
 */
const MAX_CLASSIFIED_CHARS = 64 * 1024;
/** Subject and header value read, in characters (a folded header can outgrow the 998 line limit). */
const MAX_HEADER_CHARS = 2_000;

const header = (input: ReplyInput, name: string) =>
  input.headers?.[name]?.slice(0, MAX_HEADER_CHARS).trim() ?? '';

/**
 * Classifies an inbound message. Pure: `received` (the message date) only anchors return dates
 * such as "back on Monday". Order matters: a complaint or a bounce is also auto-submitted, and an
 * auto-reply may quote our footer, so the stronger signals are checked first. Reads the first
 * MAX_CLASSIFIED_CHARS of the body and of each report part, MAX_HEADER_CHARS of the subject and headers.
 */
export function classifyReply(message: ReplyInput, received: Date): ReplyClass {
  const input: ReplyInput = {
    ...message,
    subject: message.subject?.slice(0, MAX_HEADER_CHARS),
    text: message.text?.slice(0, MAX_CLASSIFIED_CHARS),
    attachedHeaders: message.attachedHeaders?.slice(0, MAX_CLASSIFIED_CHARS),
    reportText: message.reportText?.slice(0, MAX_CLASSIFIED_CHARS),
  };
  const fresh = stripQuoted(input.text ?? '');
  const fields = {
    from: header(input, 'from'),
    subject: subjectHead(input.subject ?? ''),
    contentType: header(input, 'content-type').toLowerCase(),
    failedRecipients: header(input, 'x-failed-recipients'),
    text: input.text ?? '',
    fresh,
    attachedHeaders: input.attachedHeaders ?? null,
    reportType: input.reportType?.slice(0, MAX_HEADER_CHARS).toLowerCase() ?? null,
    reportText: input.reportText ?? null,
  };
  const report = readComplaint(fields) ?? readBounce(fields);
  if (report) return report;
  if (isReadReceipt(fields)) return { kind: 'receipt' };
  if (isAutoReply(input, fresh)) {
    return { kind: 'auto_reply', returnDate: findReturnDate(`${input.subject ?? ''}\n${fresh}`, received) };
  }
  if (unsubscribePatterns.some((p) => p.test(fresh)) || unsubscribeSubject.test(input.subject ?? '')) {
    return { kind: 'unsubscribe' };
  }
  return { kind: 'human', intent: replyIntent(fresh) };
}

/**
 * A read receipt ("Read: …", "Lu : …", "Gelesen: …"): a `multipart/report` of
 * disposition-notification. Sent by the lead's mail client when they open the message, it is no
 * answer: it must not stop the cadence as a reply would.
 */
function isReadReceipt(fields: { contentType: string; reportType: string | null }): boolean {
  return (
    /report-type="?disposition-notification/.test(fields.contentType) ||
    fields.reportType === 'message/disposition-notification'
  );
}

// ---- auto-replies and out-of-office (RFC 3834 and the common vendor headers) ----

const oooSubject = new RegExp(
  [
    'out of (the )?office',
    'automatic reply',
    'auto(matic)?[- ]?(reply|response|respon(der|se))',
    'autoreply',
    'on (vacation|holiday|leave)',
    'away from (the )?office',
    'absence',
    'réponse automatique',
    'absent(e)? du bureau',
    'en congés?',
    'abwesenheit',
    'automatische antwort',
    'nicht im büro',
    'außer haus',
    'im urlaub',
    'respuesta automática',
    'fuera de (la )?oficina',
    'ausente',
    'de vacaciones',
  ].join('|'),
  'i',
);

/** Body phrases that auto-replies open with; checked on the first lines only, to spare human replies. */
const oooOpening = new RegExp(
  [
    'this is an automatic (reply|response|message)',
    "i('m| am) (currently )?(out of (the )?office|away from (the|my) (office|desk)|on (vacation|holiday|annual leave|leave|parental leave))",
    'je suis (actuellement )?(absente?|en congés?)',
    'ceci est une réponse automatique',
    'ich bin (derzeit |zurzeit |momentan )?(nicht im büro|abwesend|im urlaub|außer haus)',
    'dies ist eine automatische',
    'estoy (actualmente )?(fuera de (la )?oficina|de vacaciones|ausente)',
    'esta es una respuesta automática',
  ].join('|'),
  'i',
);

/** The subject before any "Re:"/"AW:" chain: a human answering "Re: Holiday plans?" is no out-of-office. */
const subjectHead = (subject: string) => subject.split(/\b(?:re|aw|sv|rv|fw|fwd|wg|tr)\s*:/i)[0] ?? '';

function isAutoReply(input: ReplyInput, fresh: string): boolean {
  const autoSubmitted = header(input, 'auto-submitted').toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') return true;
  if (/^(yes|true|1)$/i.test(header(input, 'x-autoreply')) || header(input, 'x-autorespond')) return true;
  if (/^auto[_-]reply$/i.test(header(input, 'precedence'))) return true;
  if (oooSubject.test(subjectHead(input.subject ?? ''))) return true;
  return oooOpening.test(fresh.slice(0, 300));
}

// ---- unsubscribe requests ----

const unsubscribePatterns = [
  /\bunsubscribe\b/i,
  /\bremove me\b/i,
  /\btake me off\b/i,
  /\bstop (e-?mailing|emailing|contacting|messaging|writing to|sending me)/i,
  /\bopt(-| )?out\b/i,
  /d[ée]sinscri|d[ée]sabonn/i,
  /ne (plus )?(me )?(plus )?(contacter|écrire|ecrire)/i,
  /\b(abmelden|austragen|abbestellen)\b/i,
  /\baus (ihrem|deinem|eurem|dem) verteiler\b/i,
  /\b(dar(me|se)?|den(me)?) de baja\b/i,
  /no me (escriba|contacte)n? más/i,
];
const unsubscribeSubject = /^\s*(unsubscribe|remove|stop)\s*$/i;

// ---- quoted text ----

/**
 * Longest line read as an attribution ("On Mon, 3 Mar 2025 at 09:00, Jane <jane@x.com> wrote:" is
 * under 200 characters; the pattern allows 300 between its words). Longer lines are text.
 */
const MAX_ATTRIBUTION_CHARS = 400;

/**
 * On a trimmed line of at most MAX_ATTRIBUTION_CHARS. Linear: the old tail `\s*:?\s*$` tried every
 * split of a run of spaces between its two `\s*`, so "on x wrote" + 150,000 spaces + "x" took 22 s.
 */
const attribution =
  /^(on|le|am|el)\b.{0,300}\b(wrote|a écrit|schrieb|escribió)\s*:?$|^-{2,}\s*(original message|message d'origine|mail original|ursprüngliche nachricht|mensaje original|forwarded message|message transféré|weitergeleitete nachricht|mensaje reenviado)|^_{20,}$/i;
const attributionStart = /^(on|le|am|el)\b/i;
/** The quoted header block Outlook and most webmails put above the message answered, in several languages. */
const headerBlockStart = /^(from|de|von|från|fra|van|da)\s?:\s/i;
const headerBlockNext =
  /^(sent|date|envoyé|gesendet|enviado|fecha|datum|to|à|an|para|skickat|sendt|verzonden|inviato|till|til|aan)\s?:\s/i;

const isAttribution = (line: string) => line.length <= MAX_ATTRIBUTION_CHARS && attribution.test(line);

/**
 * The new part of a reply: quoted lines and everything after an attribution line are cut, so our
 * own quoted footer ("unsubscribe") or signature never classifies the lead's answer. Linear in the
 * text: each line is trimmed once and only short lines are matched against the attribution.
 */
export function stripQuoted(text: string): string {
  const lines = text.split(/\r\n?|\n/);
  const trimmed = lines.map((line) => line.trim());
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = trimmed[i] ?? '';
    const next = trimmed[i + 1] ?? '';
    // Gmail wraps long attributions: "On Mon, 3 Mar 2025 at 10:00, Jane <jane@x.com>\nwrote:".
    const wrapped = attributionStart.test(line) && isAttribution(`${line} ${next}`);
    if (isAttribution(line) || wrapped) break;
    if (headerBlockStart.test(line) && headerBlockNext.test(next)) break;
    if (!line.startsWith('>')) kept.push(lines[i] ?? '');
  }
  return kept.join('\n').trim();
}
