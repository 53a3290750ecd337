import { dayBounds } from '../../../src/channels/email/capacity';
import {
  createEmailChannel,
  type EmailChannel,
  sharedDraft,
} from '../../../src/channels/email/email.channel';
import { type Day, readSendState, takeSlot } from '../../../src/channels/email/reservation';
import type { StepContext } from '../../../src/engine/channel';
import { startTestEngine, type TestEngine } from '../../helpers/engine';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';

// The fault suite (test/faults) still imports the mailbox helper from here.
export { addMailbox, type MailboxJson } from '../../helpers/mailboxes';

export type EmailChannelTest = {
  engine: TestEngine;
  sink: SmtpSink;
  channel: EmailChannel;
  close(): Promise<void>;
};

/** An engine without workers, an SMTP sink, and the real email channel: tests drive each send. */
export async function startEmailChannelTest(): Promise<EmailChannelTest> {
  const engine = await startTestEngine();
  const sink = await startSmtpSink();
  const channel = createEmailChannel(engine.deps);
  return {
    engine,
    sink,
    channel,
    async close() {
      await channel.close();
      await sink.close();
      await engine.close();
    },
  };
}

/** A header as it went over the wire (unfolded), read from the raw message. */
export function header(raw: string | undefined, name: string): string | null {
  const head = (raw ?? '').split('\r\n\r\n')[0]?.replace(/\r\n[ \t]+/g, ' ') ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}

/**
 * The email channel's slot take for `ctx`, in two halves as the channel does them: reading the
 * workspace's mailboxes now, and `take()` later (after whatever a test wants to happen in between).
 */
export async function readThenTake(
  engine: TestEngine,
  ctx: StepContext,
  at: { now: Date; day: Day } = { now: new Date(), day: dayBounds(new Date(), 'UTC') },
) {
  const { rows } = await readSendState(engine.deps.db, {
    workspaceId: ctx.lead.workspaceId,
    leadId: ctx.lead.id,
    stepRunId: ctx.run.id,
    pinned: [],
    day: at.day,
  });
  return () =>
    takeSlot(engine.deps.db, {
      workspaceId: ctx.lead.workspaceId,
      run: ctx.run,
      ...at,
      priorMessageRowId: null,
      draft: sharedDraft(ctx, {
        to: ctx.lead.email ?? '',
        thread: null,
        composed: { subject: 'Hi', text: 'Hello', html: null, variant: null },
      }),
      offers: rows.map((row) => ({
        ...row,
        limit: row.mailbox.dailyLimit,
        sender: { messageId: `<${ctx.run.id}@sender.test>`, fromAddress: row.mailbox.fromEmail, headers: {} },
      })),
      skipLocked: false,
    });
}
