import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { mailboxes } from '../../db/schema/index';
import type { SequenceDefinition } from '../../core/sequences';
import { type EmailStep, variantLabel } from '../../core/steps';
import {
  firstMissing,
  leadVariables,
  requiredVariables,
  senderVariables,
  type TemplateVars,
} from '../../core/templates';
import { promotedVariantFor } from '../../engine/ab-winners';
import type { EnrollmentRow, LeadRow, StepRunRow } from '../../engine/channel';
import { chooseVariant, type ComposedEmail, composeEmail, headerSafe } from './compose';
import { listUnsubscribeHeaders, mailOptions, runMessageId, wireHeaders } from './headers';
import { chooseMailboxes, type MailboxRow } from './mailbox-choice';

/** Where the preview stands: the lead's enrollment and its run of the step, when there are any. */
export type PreviewSituation = {
  sequenceId: string;
  version: number;
  definition: SequenceDefinition;
  lead: LeadRow;
  enrollment: EnrollmentRow | null;
  run: StepRunRow | null;
};

export type EmailPreview = {
  mailbox: MailboxRow | null;
  headers: Record<string, string>;
  composed: ComposedEmail;
  variant: { index: number; label: string } | null;
  /** `run`: the variant the lead's run picks; `preview`: no run yet, so a stand-in pick (see `previewEmail`). */
  variantSource: 'run' | 'preview';
  missingVariables: string[];
};

/**
 * The mailbox the email leaves from: the one asked for, else the enrollment's (its thread's
 * sender), else the step's, else the workspace's next active mailbox in the order the channel
 * tries them (least recently used first). Null: the workspace has none to send from.
 */
export async function previewMailbox(
  db: DbOrTx,
  input: { workspaceId: string; asked?: string; enrollment: EnrollmentRow | null; step: EmailStep },
): Promise<MailboxRow | null> {
  const rows = await db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.workspaceId, input.workspaceId), ne(mailboxes.status, 'deleted')))
    .orderBy(sql`${mailboxes.lastSlotAt} asc nulls first`, asc(mailboxes.id));
  if (input.asked) return rows.find((m) => m.id === input.asked) ?? null;
  const choice = chooseMailboxes(
    rows.map((mailbox) => ({ mailbox })),
    { enrollmentMailboxId: input.enrollment?.mailboxId ?? null, stepMailboxId: input.step.mailboxId },
  );
  if (choice.kind === 'candidates') return choice.mailboxes[0]?.mailbox ?? null;
  if (choice.kind === 'paused') return rows.find((m) => m.id === choice.mailboxId) ?? null;
  return null;
}

/**
 * Renders an email step for a lead through the channel's own path (`chooseVariant`, `composeEmail`,
 * the sender variables of the mailbox that would send, the thread's subject), with the headers the
 * channel would set. Before the lead has a run of the step, the variant is picked from a stand-in
 * seed (the lead and step ids): a real run picks from its own id, so it may pick another.
 */
export async function previewEmail(
  deps: Pick<Deps, 'db'>,
  at: PreviewSituation & {
    step: EmailStep & { id: string };
    mailbox: MailboxRow | null;
    unsubscribeUrl: string;
  },
): Promise<EmailPreview | { error: string }> {
  const { step, lead, enrollment, run, mailbox } = at;
  const seed = run?.id ?? `preview:${lead.id}:${step.id}`;
  const winner = await promotedVariantFor(deps.db, {
    sequenceId: at.sequenceId,
    version: at.version,
    definition: at.definition,
    step,
    runCreatedAt: run?.createdAt ?? new Date(),
  });
  const replying = step.thread === 'reply';
  const threadId = replying ? (enrollment?.threadMessageId ?? null) : null;
  const threadSubject = replying ? await projectedThreadSubject(at) : null;
  const sendTime = {
    sender: mailbox ? senderVariables(mailbox) : undefined,
    unsubscribeUrl: at.unsubscribeUrl,
  };
  const composed = await composeEmail({ step, lead, seed, winner, threadSubject, sendTime });
  if ('error' in composed) return composed;
  const chosen = chooseVariant(step, seed, winner);
  const sources = [
    chosen.bodySource,
    ...(threadSubject === null && chosen.subjectSource ? [chosen.subjectSource] : []),
  ];
  const missing = missingVariables(sources, leadVariables(lead, sendTime));
  const leadName = headerSafe([lead.firstName, lead.lastName].filter(Boolean).join(' '));
  // The headers nodemailer writes for the channel's own mail options; the Message-ID is the run's
  // once it exists (left out before: no run, no id yet).
  const options = mailOptions({
    messageId: mailbox && run ? runMessageId(run.id, mailbox.fromEmail) : '',
    from: { name: mailbox?.fromName ?? null, email: mailbox?.fromEmail ?? '' },
    to: { name: leadName, address: lead.email ?? '' },
    subject: composed.subject,
    text: composed.text,
    html: composed.html ?? undefined,
    thread: threadId,
    headers: mailbox ? listUnsubscribeHeaders(at.unsubscribeUrl, mailbox.fromEmail) : {},
  });
  const headers = wireHeaders(options);
  if (!mailbox) delete headers.From;
  if (!(mailbox && run)) delete headers['Message-ID'];
  return {
    mailbox,
    headers,
    composed,
    variant:
      composed.variant === null ? null : { index: composed.variant, label: variantLabel(composed.variant) },
    variantSource: run ? 'run' : 'preview',
    missingVariables: missing,
  };
}

/** Every variable the templates print without a default that `vars` lacks or has blank. */
export function missingVariables(sources: readonly string[], vars: TemplateVars): string[] {
  const paths = new Set(sources.flatMap((source) => requiredVariables(source)));
  return [...paths].filter((path) => firstMissing([path], vars) !== null);
}

/**
 * The subject a reply step answers: the enrollment's thread once its first email left; before
 * that, the subject of the email that will root the thread (the first new-thread email step before
 * this one), rendered for the lead.
 */
async function projectedThreadSubject(
  at: PreviewSituation & { step: EmailStep & { id: string } },
): Promise<string | null> {
  if (at.enrollment?.threadMessageId) return at.enrollment.threadSubject ?? '';
  const index = at.definition.steps.findIndex((s) => s.id === at.step.id);
  const root = at.definition.steps
    .slice(0, Math.max(index, 0))
    .find((s): s is EmailStep & { id: string } => s.type === 'email' && s.thread !== 'reply');
  if (!root) return null;
  const rendered = await composeEmail({
    step: root,
    lead: at.lead,
    seed: `preview:${at.lead.id}:${root.id}`,
    threadSubject: null,
  });
  return 'error' in rendered ? null : rendered.subject;
}
