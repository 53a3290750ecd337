import { type CalendarDate, findReturnDate } from './return-date';

/** What an inbound message is, as far as the cadence is concerned. */
export type ReplyClass =
  | { kind: 'human' }
  | { kind: 'unsubscribe' }
  /** Auto-reply or out-of-office; `returnDate` when the text names one. */
  | { kind: 'auto_reply'; returnDate: CalendarDate | null }
  /** Delivery report. `permanent` is false for "delayed" (4.x.x) reports, which change nothing. */
  | { kind: 'bounce'; permanent: boolean; recipient: string | null; originalMessageId: string | null };

export type ReplyInput = {
  subject?: string | null;
  /** Plain-text body; callers convert HTML-only bodies with `htmlToText`. */
  text?: string | null;
  /** Header names lower-cased. */
  headers?: Record<string, string>;
  /** Headers of the original message when a report carries them (text/rfc822-headers, message/rfc822). */
  attachedHeaders?: string | null;
};

export type { CalendarDate };

const header = (input: ReplyInput, name: string) => input.headers?.[name]?.trim() ?? '';

/**
 * Classifies an inbound message. Pure: `received` (the message date) only anchors return dates
 * such as "back on Monday". Order matters: a bounce is also auto-submitted, and an auto-reply may
 * quote our footer, so the stronger signals are checked first.
 */
export function classifyReply(input: ReplyInput, received: Date): ReplyClass {
  const bounce = detectBounce(input);
  if (bounce) return bounce;
  const fresh = stripQuoted(input.text ?? '');
  if (isAutoReply(input, fresh)) {
    return { kind: 'auto_reply', returnDate: findReturnDate(`${input.subject ?? ''}\n${fresh}`, received) };
  }
  if (unsubscribePatterns.some((p) => p.test(fresh)) || unsubscribeSubject.test(input.subject ?? '')) {
    return { kind: 'unsubscribe' };
  }
  return { kind: 'human' };
}

// ---- bounces (RFC 3464 delivery status notifications, and the usual MTA subjects) ----

const bounceSubject =
  /undeliver|returned mail|returned to sender|delivery (status notification|failure|has failed|incomplete)|failure notice|mail delivery failed|non remis|non distribu|unzustellbar|nicht zustellbar|no se (ha )?pudo entregar|no entregado/i;
const daemonSender = /mailer-daemon|postmaster|mail delivery (subsystem|system)/i;

function detectBounce(input: ReplyInput): ReplyClass | null {
  const contentType = header(input, 'content-type').toLowerCase();
  const isReport =
    contentType.startsWith('multipart/report') && /report-type="?delivery-status/.test(contentType);
  const text = input.text ?? '';
  const looksLikeOne = daemonSender.test(header(input, 'from')) && bounceSubject.test(input.subject ?? '');
  if (!isReport && !looksLikeOne) return null;
  return {
    kind: 'bounce',
    permanent: isPermanentFailure(text, input.subject ?? ''),
    recipient: failedRecipient(input, text),
    originalMessageId: originalMessageId(input.attachedHeaders ?? text),
  };
}

function isPermanentFailure(text: string, subject: string): boolean {
  const action = /^action:\s*(\w+)/im.exec(text)?.[1]?.toLowerCase();
  if (action) return action === 'failed';
  const status = /^status:\s*([245])\.\d{1,3}\.\d{1,3}/im.exec(text)?.[1];
  if (status) return status === '5';
  // Without a machine-readable report, only a "delay" wording marks a transient one.
  return !/\bdelay(ed)?\b|verzögert|retard|retrasad/i.test(`${subject}\n${text}`);
}

function failedRecipient(input: ReplyInput, text: string): string | null {
  const fromReport = /^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?/im.exec(text)?.[1];
  const fromHeader = header(input, 'x-failed-recipients').split(',')[0]?.trim();
  const address = fromReport ?? (fromHeader || null);
  return address ? address.toLowerCase() : null;
}

function originalMessageId(source: string): string | null {
  return /^message-id:\s*(<[^<>\s]+>)/im.exec(source)?.[1] ?? null;
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
  /\b(dar(me|se)?|den(me)?) de baja\b/i,
  /no me (escriba|contacte)n? más/i,
];
const unsubscribeSubject = /^\s*(unsubscribe|remove|stop)\s*$/i;

// ---- quoted text ----

const attribution =
  /^(on|le|am|el)\b.{0,300}\b(wrote|a écrit|schrieb|escribió)\s*:?\s*$|^-{2,}\s*(original message|message d'origine|ursprüngliche nachricht|mensaje original)|^_{20,}\s*$/i;
const headerBlockStart = /^(from|de|von)\s?:\s/i;
const headerBlockNext = /^(sent|date|envoyé|gesendet|enviado|fecha|datum|to|à|an|para)\s?:\s/i;

/**
 * The new part of a reply: quoted lines and everything after an attribution line are cut, so our
 * own quoted footer ("unsubscribe") or signature never classifies the lead's answer.
 */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    // Gmail wraps long attributions: "On Mon, 3 Mar 2025 at 10:00, Jane <jane@x.com>\nwrote:".
    const joined = `${line} ${(lines[i + 1] ?? '').trim()}`;
    if (attribution.test(line) || (/^(on|le|am|el)\b/i.test(line) && attribution.test(joined))) break;
    if (headerBlockStart.test(line) && headerBlockNext.test((lines[i + 1] ?? '').trim())) break;
    if (line.startsWith('>')) continue;
    kept.push(lines[i] ?? '');
  }
  return kept.join('\n').trim();
}

/** Text of an HTML body, good enough for classification and previews (not for display). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<blockquote[\s\S]*?<\/blockquote>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h\d)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
