import { and, eq } from 'drizzle-orm';
import { keyset } from '../../db/keyset';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { type SequenceStatus, enrollments, sequences, sequenceVersions } from '../../db/schema/index';
import { type Cursor } from '../../db/keyset';
import { pauseEnrollments, resumeEnrollments } from '../../engine/pause';
import { listStages } from '../../timeline/stage-moves';
import { type ParsedDefinition, resolveDefinition, type SequenceDefinition } from '../../core/sequences';
import { loadVersion } from '../../engine/versions';

type SeqDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;
export type SequenceRow = typeof sequences.$inferSelect;
export type SequenceView = SequenceRow & { definition: SequenceDefinition };

export type SequenceResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: 'not_found' | 'name_taken' | 'archived' }
  | { ok: false; error: 'unknown_stage'; details: { path: string; message: string }[] };

/** Stage keys the definition names (stage steps, onReply, onComplete, onFirstTouch) that the workspace lacks. */
async function unknownStages(db: DbOrTx, workspaceId: string, def: SequenceDefinition) {
  const refs: { path: string; key: string }[] = [
    ...def.steps.flatMap((step, i) =>
      step.type === 'stage' ? [{ path: `body.steps.${i}.stage`, key: step.stage }] : [],
    ),
    ...(def.settings.onReply?.stage
      ? [{ path: 'body.settings.onReply.stage', key: def.settings.onReply.stage }]
      : []),
    ...Object.entries(def.settings.onReply?.byClass ?? {}).flatMap(([intent, key]) =>
      key ? [{ path: `body.settings.onReply.byClass.${intent}`, key }] : [],
    ),
    ...(def.settings.onComplete
      ? [{ path: 'body.settings.onComplete.stage', key: def.settings.onComplete.stage }]
      : []),
    ...(def.settings.onFirstTouch
      ? [{ path: 'body.settings.onFirstTouch.stage', key: def.settings.onFirstTouch.stage }]
      : []),
  ];
  if (refs.length === 0) return [];
  const known = new Set((await listStages(db, workspaceId)).map((s) => s.key));
  return refs
    .filter((r) => !known.has(r.key))
    .map((r) => ({ path: r.path, message: `no stage "${r.key}" in this workspace's pipeline` }));
}

async function withDefinition(deps: SeqDeps, row: SequenceRow): Promise<SequenceView> {
  const definition = await loadVersion(deps.db, row.id, row.currentVersion);
  if (!definition) throw new Error(`sequence ${row.id} has no version ${row.currentVersion}`);
  return { ...row, definition };
}

export async function createSequence(
  deps: SeqDeps,
  workspaceId: string,
  input: { name: string } & ParsedDefinition,
): Promise<SequenceResult<SequenceView>> {
  const definition = resolveDefinition(input);
  const missing = await unknownStages(deps.db, workspaceId, definition);
  if (missing.length > 0) return { ok: false, error: 'unknown_stage', details: missing };
  const row = await deps.db.transaction(async (tx) => {
    const [seq] = await tx
      .insert(sequences)
      .values({ workspaceId, name: input.name, currentVersion: 1 })
      .onConflictDoNothing()
      .returning();
    if (!seq) return null;
    await tx.insert(sequenceVersions).values({ sequenceId: seq.id, version: 1, definition });
    return seq;
  });
  if (!row) return { ok: false, error: 'name_taken' };
  return { ok: true, value: { ...row, definition } };
}

/** Every PUT writes a new immutable version; live enrollments keep the one they started on. */
export async function updateSequence(
  deps: SeqDeps,
  workspaceId: string,
  id: string,
  input: { name?: string } & ParsedDefinition,
): Promise<SequenceResult<SequenceView>> {
  const definition = resolveDefinition(input);
  const missing = await unknownStages(deps.db, workspaceId, definition);
  if (missing.length > 0) return { ok: false, error: 'unknown_stage', details: missing };
  return deps.db.transaction(async (tx): Promise<SequenceResult<SequenceView>> => {
    const [current] = await tx
      .select()
      .from(sequences)
      .where(and(eq(sequences.id, id), eq(sequences.workspaceId, workspaceId)))
      .for('update');
    if (!current) return { ok: false, error: 'not_found' } as const;
    if (current.status === 'archived') return { ok: false, error: 'archived' } as const;
    if (input.name && input.name !== current.name) {
      const [clash] = await tx
        .select({ id: sequences.id })
        .from(sequences)
        .where(and(eq(sequences.workspaceId, workspaceId), eq(sequences.name, input.name)));
      if (clash) return { ok: false, error: 'name_taken' } as const;
    }
    const version = current.currentVersion + 1;
    await tx.insert(sequenceVersions).values({ sequenceId: id, version, definition });
    const [row] = await tx
      .update(sequences)
      .set({ currentVersion: version, name: input.name ?? current.name, updatedAt: new Date() })
      .where(eq(sequences.id, id))
      .returning();
    if (!row) throw new Error('sequence vanished during update');
    return { ok: true, value: { ...row, definition } } as const;
  });
}

export async function getSequence(
  deps: SeqDeps,
  workspaceId: string,
  id: string,
): Promise<SequenceView | null> {
  const [row] = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.id, id), eq(sequences.workspaceId, workspaceId)));
  return row ? withDefinition(deps, row) : null;
}

export async function findSequenceByName(
  deps: SeqDeps,
  workspaceId: string,
  name: string,
): Promise<SequenceRow | null> {
  const [row] = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.workspaceId, workspaceId), eq(sequences.name, name)));
  return row ?? null;
}

export async function listSequences(
  deps: SeqDeps,
  workspaceId: string,
  limit: number,
  cursor: Cursor | null,
) {
  const page = keyset(sequences.createdAt, sequences.id, cursor);
  const rows = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.workspaceId, workspaceId), page.where))
    .orderBy(...page.orderBy)
    .limit(limit + 1);
  return Promise.all(rows.map((r) => withDefinition(deps, r)));
}

/**
 * activate / pause / archive. Pausing pauses every live enrollment (reason `sequence_paused`);
 * activating resumes exactly those, so a manual pause of one enrollment survives.
 */
export async function setSequenceStatus(
  deps: SeqDeps,
  workspaceId: string,
  id: string,
  status: Exclude<SequenceStatus, 'draft'>,
): Promise<SequenceResult<SequenceView>> {
  const result = await deps.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(sequences)
      .where(and(eq(sequences.id, id), eq(sequences.workspaceId, workspaceId)))
      .for('update');
    if (!current) return { ok: false, error: 'not_found' } as const;
    if (current.status === 'archived' && status !== 'archived')
      return { ok: false, error: 'archived' } as const;
    const [row] = await tx
      .update(sequences)
      .set({ status, updatedAt: new Date() })
      .where(eq(sequences.id, id))
      .returning();
    if (!row) throw new Error('sequence vanished');
    if (status !== 'active') {
      const live = await tx
        .select({ id: enrollments.id })
        .from(enrollments)
        .where(and(eq(enrollments.sequenceId, id), eq(enrollments.status, 'active')));
      await pauseEnrollments(tx, {
        workspaceId,
        enrollmentIds: live.map((e) => e.id),
        reason: status === 'archived' ? 'sequence_archived' : 'sequence_paused',
      });
    }
    return { ok: true, value: row } as const;
  });
  if (!result.ok) return result;
  if (status === 'active') {
    const paused = await deps.db
      .select({ id: enrollments.id })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.sequenceId, id),
          eq(enrollments.status, 'paused'),
          eq(enrollments.reason, 'sequence_paused'),
        ),
      );
    await resumeEnrollments(deps, { workspaceId, enrollmentIds: paused.map((e) => e.id) });
  }
  return { ok: true, value: await withDefinition(deps, result.value) };
}
