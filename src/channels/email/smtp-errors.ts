/** How many times a transient SMTP failure is retried before the step fails. */
export const MAX_SEND_ATTEMPTS = 8;
const BASE_DELAY_MS = 5 * 60_000;
const MAX_DELAY_MS = 4 * 3600_000;

/**
 * - `bounce`: the server refused this recipient for good (5xx at RCPT TO or DATA): never retried.
 * - `transient`: 4xx, connection drops, timeouts, and sender-side problems (auth, MAIL FROM) that an
 *   operator can fix; retried with backoff.
 */
export type SmtpFailure = { kind: 'bounce' | 'transient'; reason: string };

type NodemailerError = { code?: unknown; responseCode?: unknown; command?: unknown; response?: unknown };

const recipientCommands = new Set(['RCPT TO', 'DATA']);

export function classifySmtpError(err: unknown): SmtpFailure {
  const e: NodemailerError = typeof err === 'object' && err !== null ? err : {};
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const command = typeof e.command === 'string' ? e.command : null;
  const text = typeof e.response === 'string' ? e.response : err instanceof Error ? err.message : String(err);
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const reason = truncate(responseCode ? `smtp_${responseCode}: ${text}` : `smtp_${code}: ${text}`);
  if (responseCode !== null && responseCode >= 500 && command !== null && recipientCommands.has(command)) {
    return { kind: 'bounce', reason };
  }
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
