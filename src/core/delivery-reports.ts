/**
 * Delivery reports (RFC 3464 DSNs, and the plain-text bounces of Gmail, Microsoft, Postfix and Exim)
 * and complaints (RFC 5965 ARF). Pure. Every pattern is linear: anchored to a line start or to a
 * literal phrase, with character classes that cannot overlap their neighbours.
 */

export type BounceClass = {
  kind: 'bounce';
  /** False for a delay (Action: delayed, 4.x.x, "not yet been delivered"), which changes nothing. */
  permanent: boolean;
  recipient: string | null;
  originalMessageId: string | null;
};

export type ComplaintClass = {
  kind: 'complaint';
  originalMessageId: string | null;
  recipient: string | null;
};

/** What a report is read from; the caller bounds every field. */
export type ReportInput = {
  /** `From` header value. */
  from: string;
  /** The subject before any "Re:"/"Fwd:" chain. */
  subject: string;
  /** `Content-Type` header value, lower-cased. */
  contentType: string;
  /** `X-Failed-Recipients` header value (Exim, Gmail). */
  failedRecipients: string;
  /** Plain-text body. */
  text: string;
  /** The body without its quoted part: a notice forwarded inside a person's reply does not count. */
  fresh: string;
  /** Headers (or all) of the original message: a `text/rfc822-headers` or `message/rfc822` part. */
  attachedHeaders: string | null;
  /** The machine-readable part's type (`message/delivery-status`, `message/feedback-report`). */
  reportType: string | null;
  reportText: string | null;
};

/** Characters of the body read as the notice: the MTAs' own words come first, then the returned message. */
const NOTICE_CHARS = 4 * 1024;

// ---- complaints ----

/**
 * An ARF feedback report, by its content type or its `message/feedback-report` part. Authentication
 * failure reports (DMARC) and "not spam" share the format and are no complaint.
 */
export function readComplaint(input: ReportInput): ComplaintClass | null {
  const arf =
    /report-type="?feedback-report/.test(input.contentType) || input.reportType === 'message/feedback-report';
  if (!arf) return null;
  const fields = input.reportText ?? input.text;
  const type = /^feedback-type:[ \t]*([\w-]+)/im.exec(fields)?.[1]?.toLowerCase();
  if (type === 'auth-failure' || type === 'not-spam') return null;
  const original = headerBlock(input.attachedHeaders ?? '');
  const rcptTo = /^original-rcpt-to:[ \t]*<?([^\s<>@]+@[^\s<>@]+)/im.exec(fields)?.[1];
  // The original's first To address, when the report does not name its recipient (it may redact it).
  const to = /^to:([^\n]*)/im.exec(original)?.[1] ?? '';
  const inTo = to.split(/[\s,;<>"]+/).find((token) => token.includes('@'));
  return {
    kind: 'complaint',
    recipient: cleanAddress(rcptTo ?? inTo),
    originalMessageId: messageIdIn(original),
  };
}

// ---- bounces ----

const bounceSubject =
  /undeliver|returned mail|returned to sender|delivery (status notification|failure|has failed|incomplete|delayed)|delayed mail|failure notice|mail delivery failed|message [\w-]+ delayed|non remis|non distribu|unzustellbar|nicht zustellbar|no se (ha )?pudo entregar|no entregado/i;
const daemonSender = /mailer-daemon|postmaster|mail delivery (subsystem|system)/i;
/** The opening words of the MTAs' plain-text bounces. */
const bounceNotice =
  /created automatically by mail delivery software|could not be delivered to one or more|has not yet been delivered to one or more|delivery to the following recipients? (failed permanently|has been delayed)|wasn['’]?t delivered to|your message to \S+ couldn['’]?t be delivered|delivery has failed to these recipients|i['’]m sorry to have to inform you that your message/i;

/**
 * A delivery report: a `multipart/report` of delivery status, or two of a mailer daemon's address,
 * a bounce subject and a bounce notice. The report's fields decide `permanent` and the recipient;
 * without them, the notice's own words (never the returned message's).
 */
export function readBounce(input: ReportInput): BounceClass | null {
  const isReport =
    (input.contentType.startsWith('multipart/report') &&
      /report-type="?(global-)?delivery-status/.test(input.contentType)) ||
    input.reportType === 'message/delivery-status' ||
    input.reportType === 'message/global-delivery-status';
  const signals = [
    daemonSender.test(input.from),
    bounceSubject.test(input.subject),
    bounceNotice.test(input.fresh.slice(0, NOTICE_CHARS)),
  ].filter(Boolean).length;
  if (!isReport && signals < 2) return null;
  const fields = input.reportText ?? input.text;
  const notice = noticeOf(input.text);
  return {
    kind: 'bounce',
    permanent: isPermanentFailure(fields, `${input.subject}\n${notice}`),
    recipient: failedRecipient(input, fields, notice),
    originalMessageId: messageIdIn(headerBlock(input.attachedHeaders ?? '')) ?? messageIdIn(input.text),
  };
}

/** The part types that make a message a report whatever its headers say. */
const reportPart = /^message\/(global-)?delivery-status|^message\/feedback-report/;

/**
 * Whether `readBounce` or `readComplaint` could take a message for a report, from its headers and
 * the types of its parts alone (no body): a report content type or part, a mailer daemon's address,
 * or a bounce subject. `readBounce` needs a report or two of sender, subject and notice, so the
 * notice alone never makes one. The inbox reader reads the body of a message that neither answers
 * us nor comes from a lead only when this says it may be a report.
 */
export function mayBeReport(input: {
  from: string;
  subject: string;
  contentType: string;
  partTypes: readonly string[];
}): boolean {
  const contentType = input.contentType.toLowerCase();
  return (
    contentType.startsWith('multipart/report') ||
    /report-type="?(global-)?(delivery-status|feedback-report)/.test(contentType) ||
    input.partTypes.some((type) => reportPart.test(type.toLowerCase())) ||
    daemonSender.test(input.from) ||
    bounceSubject.test(input.subject)
  );
}

/** Where a plain-text bounce starts quoting the returned message (Exim, Gmail, Microsoft, qmail). */
const returnedMessage =
  /^[ \t]*(?:-{3,}[ \t]*(?:this is a copy of (?:the|your) message|original message|below this line is a copy)|original message headers)/im;

/** The bounce's own words: the text before the returned message, at most NOTICE_CHARS. */
function noticeOf(text: string): string {
  const head = text.slice(0, NOTICE_CHARS);
  const at = returnedMessage.exec(head)?.index;
  return at === undefined ? head : head.slice(0, at);
}

const transientWording =
  /\bdelay(ed)?\b|verzögert|retard|retrasad|not yet been delivered|warning only|still being retried|will be retried/i;

function isPermanentFailure(fields: string, notice: string): boolean {
  const action = /^action:\s*(\w+)/im.exec(fields)?.[1]?.toLowerCase();
  if (action) return action === 'failed';
  const status = /^status:\s*([245])\.\d{1,3}\.\d{1,3}/im.exec(fields)?.[1];
  if (status) return status === '5';
  return !transientWording.test(notice);
}

/** Where each MTA names the failed address in its notice, most specific first. */
const noticeRecipients = [
  /failed permanently:\s+<?([^\s<>@]+@[^\s<>@]+)/i, // Gmail, before 2017
  /wasn['’]?t delivered to\s+<?([^\s<>@]+@[^\s<>@]+)/i, // Gmail
  /your message to\s+<?([^\s<>@]+@[^\s<>@]+)/i, // Microsoft 365: "Your message to x couldn't be delivered."
  /delivery has failed to these recipients or groups:\s+(?:[^\n(<]*[(<])?([^\s<>@()]+@[^\s<>@()]+)/i, // Exchange
  /following address(?:\(es\)|es)? failed:\s+<?([^\s<>@]+@[^\s<>@]+)/i, // Exim
  /not yet been delivered (?:is|are):\s+<?([^\s<>@]+@[^\s<>@]+)/i, // Exim, delayed
  /^<([^\s<>@]+@[^\s<>@]+)>[:\s]/m, // Postfix: "<x@y>: host … said: 550 …"
];

function failedRecipient(input: ReportInput, fields: string, notice: string): string | null {
  const fromReport = /^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?/im.exec(fields)?.[1];
  if (fromReport) return cleanAddress(fromReport);
  const fromHeader = input.failedRecipients.split(',')[0]?.trim();
  if (fromHeader) return cleanAddress(fromHeader);
  for (const pattern of noticeRecipients) {
    const found = pattern.exec(notice)?.[1];
    if (found) return cleanAddress(found);
  }
  return null;
}

// ---- shared ----

/** The header block of a message (up to its first empty line), folded lines unfolded. */
function headerBlock(message: string): string {
  const end = /\r?\n\r?\n/.exec(message)?.index ?? message.length;
  return message.slice(0, end).replace(/\r?\n[ \t]+/g, ' ');
}

function messageIdIn(source: string): string | null {
  return /^message-id:\s*(<[^<>\s]+>)/im.exec(source)?.[1] ?? null;
}

/** Lower-cased, without the punctuation a sentence leaves at its end ("… to x@y.com."). */
function cleanAddress(address: string | undefined): string | null {
  if (!address) return null;
  let end = address.length;
  while (end > 0 && '.,;:>)'.includes(address[end - 1] ?? '')) end--;
  const clean = address.slice(0, end).toLowerCase();
  return clean.includes('@') ? clean : null;
}
