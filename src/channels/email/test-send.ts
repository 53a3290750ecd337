import { randomUUID } from 'node:crypto';
import type { Deps } from '../../context';
import { isSuppressed } from '../../engine/suppressions';
import { emailDomain } from '../../lib/identity';
import { type StepPreviewInput, type StepPreviewResult, previewStep } from '../step-preview';
import { headerSafe } from './compose';
import { listUnsubscribeHeaders, mailOptions } from './headers';
import { classifySmtpError } from './smtp-errors';
import { createTransportPool, smtpTimeouts } from './transports';

/** Test sends a workspace may make per hour: enough to proof a cadence, too few to mail a list. */
export const TEST_SENDS_PER_HOUR = 20;
export const TEST_SUBJECT_PREFIX = '[Test] ';
export const TEST_HEADER = 'X-Outreach-Test';

type TestSendDeps = Pick<Deps, 'db' | 'config' | 'secrets' | 'targets' | 'log' | 'redis'>;

export type TestSendResult =
  | { ok: true; messageId: string; mailboxId: string; to: string; subject: string }
  | Extract<StepPreviewResult, { ok: false }>
  | { ok: false; error: 'not_email_step' }
  | { ok: false; error: 'no_mailbox' }
  | { ok: false; error: 'suppressed' }
  | { ok: false; error: 'mailbox_paused'; mailboxId: string }
  | { ok: false; error: 'rate_limited'; retryAfterSeconds: number }
  | { ok: false; error: 'send_failed'; message: string };

/**
 * Sends a step's email, rendered for a lead exactly as the preview shows it, to an address the user
 * gives, marked as a test (`[Test] ` subject, `X-Outreach-Test: 1`). Nothing about it is recorded:
 * no message row, no run, no event, no capacity slot. Its unsubscribe link leads nowhere (a click
 * must not unsubscribe the lead), it carries no tracking and no thread headers (a reply to it must
 * not stop the lead's cadence), and its Message-ID is its own.
 */
export function createTestSender(deps: TestSendDeps) {
  const transports = createTransportPool(deps, smtpTimeouts(deps.config.SMTP_TIMEOUT_SECONDS));

  /** Counts one test send of the workspace in this hour (shared by every API process, in Redis). */
  async function allowed(workspaceId: string): Promise<number | null> {
    const hour = Math.floor(Date.now() / 3_600_000);
    const key = `${deps.config.QUEUE_PREFIX}:test-send:${workspaceId}:${hour}`;
    // One transaction, so a key never outlives its hour (it names its hour, so the TTL may restart).
    const replies = await deps.redis.multi().incr(key).expire(key, 3600).exec();
    const count = Number(replies?.[0]?.[1] ?? Number.POSITIVE_INFINITY);
    return count <= TEST_SENDS_PER_HOUR ? null : 3600 - Math.floor((Date.now() / 1000) % 3600);
  }

  async function send(input: StepPreviewInput & { to: string }): Promise<TestSendResult> {
    const inert = `${deps.config.PUBLIC_URL.replace(/\/$/, '')}/u/test-send`;
    const previewed = await previewStep(deps, { ...input, unsubscribeUrl: inert });
    if (!previewed.ok) return previewed;
    const { preview } = previewed;
    if (preview.kind !== 'email') return { ok: false, error: 'not_email_step' };
    const { mailbox, composed } = preview;
    if (!mailbox) return { ok: false, error: 'no_mailbox' };
    // A paused mailbox sends nothing until it is resumed (it may have been paused for its
    // reputation): the preview shows it, a test does not go through it.
    if (mailbox.status !== 'active') return { ok: false, error: 'mailbox_paused', mailboxId: mailbox.id };
    // A test goes to the user's own address; one that unsubscribed or bounced gets nothing from us,
    // a test included. Checked before the allowance, so a refusal costs none of it.
    if (await isSuppressed(deps.db, input.workspaceId, { email: input.to }))
      return { ok: false, error: 'suppressed' };
    const retryAfter = await allowed(input.workspaceId);
    if (retryAfter !== null) return { ok: false, error: 'rate_limited', retryAfterSeconds: retryAfter };
    const messageId = `<test-${randomUUID()}@${emailDomain(mailbox.fromEmail) || 'localhost'}>`;
    const subject = headerSafe(`${TEST_SUBJECT_PREFIX}${composed.subject}`);
    try {
      const transport = await transports.get(mailbox);
      await transport.sendMail(
        mailOptions({
          messageId,
          from: { name: mailbox.fromName, email: mailbox.fromEmail },
          to: { name: '', address: input.to },
          subject,
          text: composed.text,
          html: composed.html ?? undefined,
          thread: null,
          headers: { ...listUnsubscribeHeaders(inert, mailbox.fromEmail), [TEST_HEADER]: '1' },
        }),
      );
    } catch (err) {
      const failure = classifySmtpError(err);
      deps.log.warn({ mailboxId: mailbox.id, reason: failure.reason }, 'test send failed');
      return { ok: false, error: 'send_failed', message: failure.reason };
    }
    return { ok: true, messageId, mailboxId: mailbox.id, to: input.to, subject };
  }

  return { send, close: () => transports.close() };
}
