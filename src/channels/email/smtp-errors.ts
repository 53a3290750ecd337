import { BLOCKED_TARGET, isBlockedTarget } from '../../lib/outbound-targets';

/** How many times a transient SMTP failure is retried before the step fails. */
export const MAX_SEND_ATTEMPTS = 8;
const BASE_DELAY_MS = 5 * 60_000;
const MAX_DELAY_MS = 4 * 3600_000;

/**
 * - `bounce`: the server refused this recipient for good (5xx at RCPT TO or DATA): never retried.
 * - `ambiguous`: the session broke or went silent with no answer from the server. After the final
 *   dot this is exactly a server that took the message and was not heard saying so, and nodemailer
 *   cannot tell us which command was pending: a retry could deliver a second copy, so none is made.
 * - `transient`: every answer from the server short of a bounce (4xx, sender-side 5xx an operator
 *   can fix), and failures before a session exists (refused, unreachable, no greeting); retried
 *   with backoff.
 * - `blocked`: the server's address is private and not allowed; nothing was sent, never retried.
 */
export type SmtpFailure = { kind: 'bounce' | 'ambiguous' | 'transient' | 'blocked'; reason: string };

type NodemailerError = {
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
  timeoutType?: unknown;
  originalCode?: unknown;
};

const recipientCommands = new Set(['RCPT TO', 'DATA']);
/** Socket errors that end an established session (a refused or unreachable server never had one). */
const midSessionSocketErrors = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Thrown by the email channel when the server may have taken the message. The engine's contract for
 * a channel that throws is that the run becomes `ambiguous` and is never executed again.
 */
export class AmbiguousSendError extends Error {
  override name = 'AmbiguousSendError';
}

/** A failure with no server answer, after the session was up: the message may have been taken. */
function brokeMidSession(e: NodemailerError): boolean {
  if (e.code === 'ECONNECTION') return e.command === 'CONN';
  if (e.code === 'ETIMEDOUT') return e.timeoutType === 'SOCKET_TIMEOUT';
  if (e.code === 'ESOCKET')
    return typeof e.originalCode === 'string' && midSessionSocketErrors.has(e.originalCode);
  return false;
}

export function classifySmtpError(err: unknown): SmtpFailure {
  if (isBlockedTarget(err)) return { kind: 'blocked', reason: BLOCKED_TARGET };
  const e: NodemailerError = typeof err === 'object' && err !== null ? err : {};
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const command = typeof e.command === 'string' ? e.command : null;
  const text = typeof e.response === 'string' ? e.response : err instanceof Error ? err.message : String(err);
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const reason = truncate(responseCode ? `smtp_${responseCode}: ${text}` : `smtp_${code}: ${text}`);
  if (responseCode !== null && responseCode >= 500 && command !== null && recipientCommands.has(command)) {
    return { kind: 'bounce', reason };
  }
  if (responseCode === null && brokeMidSession(e)) return { kind: 'ambiguous', reason };
  return { kind: 'transient', reason };
}

/**
 * Delay before retry number `attempt` (1 = the first retry): 5 min doubling to at most 4 h, then ±20%
 * jitter from `random` in [0, 1), so a mailbox outage does not come back as one burst. Eight attempts
 * span about nine hours.
 */
export function retryDelayMs(attempt: number, random: number): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}

const truncate = (s: string) => (s.length > 300 ? `${s.slice(0, 297)}...` : s).replace(/[\r\n]+/g, ' ');
