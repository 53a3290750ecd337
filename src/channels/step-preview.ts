import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../context';
import { enrollments, leads, sequences, stepRuns } from '../db/schema/index';
import type { EmailStep, ResolvedStep } from '../core/steps';
import { loadVersion } from '../engine/versions';
import { templateFields } from '../core/sequences';
import { leadVariables } from '../core/templates';
import {
  type EmailPreview,
  missingVariables,
  type PreviewSituation,
  previewEmail,
  previewMailbox,
} from './email/email-preview';
import { unsubscribeUrl } from './email/unsubscribe-tokens';
import { buildAction } from './linkedin/linkedin.channel';

export type PreviewDeps = Pick<Deps, 'db' | 'config' | 'secrets'>;

export type StepPreviewInput = {
  workspaceId: string;
  sequenceId: string;
  stepId: string;
  leadId: string;
  version?: number;
  /** The mailbox to send from instead of the one the channel would pick. */
  mailboxId?: string;
  /** The unsubscribe link to render with; default: the lead's own. */
  unsubscribeUrl?: string;
};

export type StepPreview =
  | ({ kind: 'email'; step: ResolvedStep; version: number } & EmailPreview)
  | {
      kind: 'linkedin';
      step: ResolvedStep;
      version: number;
      text: string | null;
      missingVariables: string[];
    };

export type StepPreviewResult =
  | { ok: true; preview: StepPreview }
  | {
      ok: false;
      error:
        | 'sequence_not_found'
        | 'version_not_found'
        | 'step_not_found'
        | 'lead_not_found'
        | 'mailbox_not_found'
        | 'not_a_message_step';
    }
  | { ok: false; error: 'template_error'; message: string };

/** Where the lead stands in the sequence: its latest enrollment and that enrollment's run of the step. */
async function situation(deps: PreviewDeps, input: StepPreviewInput) {
  const [enrollment] = await deps.db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.sequenceId, input.sequenceId), eq(enrollments.leadId, input.leadId)))
    .orderBy(desc(enrollments.createdAt))
    .limit(1);
  const [run] = enrollment
    ? await deps.db
        .select()
        .from(stepRuns)
        .where(and(eq(stepRuns.enrollmentId, enrollment.id), eq(stepRuns.stepId, input.stepId)))
        .orderBy(desc(stepRuns.createdAt))
        .limit(1)
    : [];
  return { enrollment: enrollment ?? null, run: run ?? null };
}

/**
 * A step rendered for a lead as the channel would send it. The version is the one asked for, else
 * the one the lead's enrollment is pinned to, else the sequence's current one. Email steps go
 * through the email channel's composing path; LinkedIn steps through the LinkedIn channel's.
 */
export async function previewStep(deps: PreviewDeps, input: StepPreviewInput): Promise<StepPreviewResult> {
  const [sequence] = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.id, input.sequenceId), eq(sequences.workspaceId, input.workspaceId)));
  if (!sequence) return { ok: false, error: 'sequence_not_found' };
  const [lead] = await deps.db
    .select()
    .from(leads)
    .where(and(eq(leads.id, input.leadId), eq(leads.workspaceId, input.workspaceId), isNull(leads.erasedAt)));
  if (!lead) return { ok: false, error: 'lead_not_found' };
  const { enrollment, run } = await situation(deps, input);
  const version = input.version ?? enrollment?.version ?? sequence.currentVersion;
  const definition = await loadVersion(deps.db, sequence.id, version);
  if (!definition) return { ok: false, error: 'version_not_found' };
  const step = definition.steps.find((s) => s.id === input.stepId);
  if (!step) return { ok: false, error: 'step_not_found' };
  // A run of another version's step of the same id is not this step's run.
  const at: PreviewSituation = {
    sequenceId: sequence.id,
    version,
    definition,
    lead,
    enrollment,
    run: enrollment?.version === version ? run : null,
  };
  if (step.type === 'email') return previewEmailStep(deps, input, at, { ...step, id: step.id });
  if (step.type === 'linkedin_invite' || step.type === 'linkedin_message' || step.type === 'linkedin_visit') {
    const action = await buildAction({ lead, step });
    if ('error' in action) return { ok: false, error: 'template_error', message: action.error };
    const text =
      action.kind === 'message' ? action.text : action.kind === 'invite' ? (action.note ?? null) : null;
    const sources = templateFields(step).map(([, source]) => source);
    const missing = missingVariables(sources, leadVariables(lead));
    return { ok: true, preview: { kind: 'linkedin', step, version, text, missingVariables: missing } };
  }
  return { ok: false, error: 'not_a_message_step' };
}

async function previewEmailStep(
  deps: PreviewDeps,
  input: StepPreviewInput,
  at: PreviewSituation,
  step: EmailStep & { id: string },
): Promise<StepPreviewResult> {
  const mailbox = await previewMailbox(deps.db, {
    workspaceId: input.workspaceId,
    asked: input.mailboxId,
    enrollment: at.enrollment,
    step,
  });
  if (input.mailboxId && !mailbox) return { ok: false, error: 'mailbox_not_found' };
  const unsubscribe =
    input.unsubscribeUrl ?? unsubscribeUrl(deps, { workspaceId: input.workspaceId, leadId: at.lead.id });
  const email = await previewEmail(deps, { ...at, step, mailbox, unsubscribeUrl: unsubscribe });
  if ('error' in email) return { ok: false, error: 'template_error', message: email.error };
  return { ok: true, preview: { kind: 'email', step, version: at.version, ...email } };
}
