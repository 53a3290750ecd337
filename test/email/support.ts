import { eq } from 'drizzle-orm';
import type { StepContext } from '../../src/engine/channel';
import { enrollments, leads, sequences, sequenceVersions, stepRuns } from '../../src/db/schema/index';
import {
  resolveDefinition,
  type SequenceDefinition,
  SequenceDefinitionInput,
} from '../../src/modules/sequences/sequences.schemas';
import type { TestEngine, TestWorkspace } from '../helpers/engine';
import { insertLeads, type LeadSeed } from '../helpers/factories';
import type { SmtpSink } from '../helpers/smtp-sink';

export type MailboxJson = { id: string; fromEmail: string; dailyLimit: number; minIntervalSeconds: number };

/** Adds a mailbox through the API, pointed at the test's SMTP sink. */
export async function addMailbox(
  engine: TestEngine,
  ws: TestWorkspace,
  sink: SmtpSink,
  overrides: Record<string, unknown> = {},
): Promise<MailboxJson> {
  const res = await engine.app.inject({
    method: 'POST',
    url: '/v1/mailboxes',
    headers: ws.auth,
    payload: {
      name: 'Sales',
      fromEmail: 'sales@sender.test',
      fromName: 'Sam Sender',
      smtp: { host: sink.host, port: sink.port, secure: false, user: 'sam', pass: 'smtp-password-1' },
      minIntervalSeconds: 0,
      ...overrides,
    },
  });
  if (res.statusCode !== 201) throw new Error(`mailbox create failed: ${res.statusCode} ${res.body}`);
  return res.json<MailboxJson>();
}

/** Stores a validated sequence version, as the sequences API does. */
export async function insertSequence(
  engine: TestEngine,
  workspaceId: string,
  input: SequenceDefinitionInput,
): Promise<{ sequenceId: string; definition: SequenceDefinition }> {
  const definition = resolveDefinition(SequenceDefinitionInput.parse(input));
  const [seq] = await engine.deps.db
    .insert(sequences)
    .values({ workspaceId, name: `seq-${Math.random().toString(36).slice(2, 10)}`, status: 'active' })
    .returning();
  if (!seq) throw new Error('no sequence');
  await engine.deps.db
    .insert(sequenceVersions)
    .values({ sequenceId: seq.id, version: 1, definition: { ...definition } });
  return { sequenceId: seq.id, definition };
}

/**
 * A lead enrolled in the sequence with a claimed run of step `stepIndex`: exactly what the engine
 * hands a channel. `attempts` is 1, as after the engine's claim.
 */
export async function claimedContext(
  engine: TestEngine,
  workspaceId: string,
  seq: { sequenceId: string; definition: SequenceDefinition },
  opts: { stepIndex?: number; lead?: LeadSeed; enrollmentId?: string } = {},
): Promise<StepContext> {
  const db = engine.deps.db;
  const stepIndex = opts.stepIndex ?? 0;
  const step = seq.definition.steps[stepIndex];
  if (!step) throw new Error(`no step ${stepIndex}`);
  let enrollmentId = opts.enrollmentId;
  if (!enrollmentId) {
    const [lead] = await insertLeads(db, workspaceId, 1, () => opts.lead ?? {});
    if (!lead) throw new Error('no lead');
    const [enrollment] = await db
      .insert(enrollments)
      .values({
        workspaceId,
        sequenceId: seq.sequenceId,
        version: 1,
        leadId: lead.id,
        currentStepId: step.id,
      })
      .returning();
    if (!enrollment) throw new Error('no enrollment');
    enrollmentId = enrollment.id;
  }
  const now = new Date();
  const [run] = await db
    .insert(stepRuns)
    .values({
      workspaceId,
      enrollmentId,
      stepId: step.id,
      stepIndex,
      stepType: step.type,
      status: 'claimed',
      runAt: now,
      dueAt: now,
      attempts: 1,
      claimedAt: now,
    })
    .returning();
  if (!run) throw new Error('no run');
  return reload(engine, { run, step, definition: seq.definition, stepIndex });
}

/** Reads the lead, enrollment and run back, as the engine does before each attempt. */
export async function reload(
  engine: TestEngine,
  ctx: Pick<StepContext, 'run' | 'step' | 'definition' | 'stepIndex'>,
): Promise<StepContext> {
  const db = engine.deps.db;
  const [run] = await db.select().from(stepRuns).where(eq(stepRuns.id, ctx.run.id));
  const [enrollment] = run
    ? await db.select().from(enrollments).where(eq(enrollments.id, run.enrollmentId))
    : [];
  const [lead] = enrollment ? await db.select().from(leads).where(eq(leads.id, enrollment.leadId)) : [];
  if (!run || !enrollment || !lead) throw new Error('context vanished');
  return { ...ctx, deps: engine.deps, run, enrollment, lead, workspaceTimezone: 'UTC' };
}

/** What the engine does between attempts of one run: count the next attempt. */
export async function nextAttempt(engine: TestEngine, ctx: StepContext): Promise<StepContext> {
  await engine.deps.db
    .update(stepRuns)
    .set({ attempts: ctx.run.attempts + 1 })
    .where(eq(stepRuns.id, ctx.run.id));
  return reload(engine, ctx);
}

/** A header as it went over the wire (unfolded), read from the raw message. */
export function header(raw: string | undefined, name: string): string | null {
  const head = (raw ?? '').split('\r\n\r\n')[0]?.replace(/\r\n[ \t]+/g, ' ') ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}
