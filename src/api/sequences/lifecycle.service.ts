import { and, count, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { enrollments, sequences, sequenceVersions } from '../../db/schema/index';
import { InvalidCursorError } from '../../db/keyset';
import type { SequenceDefinition } from '../../core/sequences';
import { type MigrateResult, migrateEnrollments } from '../../engine/migrate-enrollments';
import { loadVersion } from '../../engine/versions';
import type { SequenceResult, SequenceView } from './sequences.service';

type LifecycleDeps = Pick<Deps, 'db'>;

export type VersionView = {
  version: number;
  current: boolean;
  createdAt: Date;
  definition: SequenceDefinition;
  /** Live (active or paused) enrollments pinned to this version: who a migration would move. */
  liveEnrollments: number;
};

/** A version cursor is the last version of the previous page, base64url, opaque to clients. */
const encodeVersionCursor = (version: number) => Buffer.from(`v${version}`).toString('base64url');
function decodeVersionCursor(cursor: string | undefined): number | null {
  if (!cursor) return null;
  const match = /^v(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1]) throw new InvalidCursorError();
  return Number(match[1]);
}

/** A sequence's versions, newest first, each with its definition and live enrollments. Null: no such sequence. */
export async function listVersions(
  deps: LifecycleDeps,
  workspaceId: string,
  sequenceId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ data: VersionView[]; nextCursor: string | null } | null> {
  const before = decodeVersionCursor(query.cursor);
  const [sequence] = await deps.db
    .select({ currentVersion: sequences.currentVersion })
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return null;
  const rows = await deps.db
    .select({ version: sequenceVersions.version, createdAt: sequenceVersions.createdAt })
    .from(sequenceVersions)
    .where(
      and(
        eq(sequenceVersions.sequenceId, sequenceId),
        before === null ? undefined : lt(sequenceVersions.version, before),
      ),
    )
    .orderBy(desc(sequenceVersions.version))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const live = await deps.db
    .select({ version: enrollments.version, n: count() })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.sequenceId, sequenceId),
        inArray(enrollments.status, ['active', 'paused']),
        inArray(
          enrollments.version,
          page.map((r) => r.version),
        ),
      ),
    )
    .groupBy(enrollments.version);
  const data = await Promise.all(
    page.map(async (row) => {
      const definition = await loadVersion(deps.db, sequenceId, row.version);
      if (!definition) throw new Error(`sequence ${sequenceId} lost version ${row.version}`);
      return {
        ...row,
        current: row.version === sequence.currentVersion,
        definition,
        liveEnrollments: live.find((l) => l.version === row.version)?.n ?? 0,
      };
    }),
  );
  const last = page[page.length - 1];
  return { data, nextCursor: rows.length > query.limit && last ? encodeVersionCursor(last.version) : null };
}

/**
 * A new draft with the current version's steps, schedule and settings, as its version 1, named
 * `name`, else "<name> (copy)" (then "(copy 2)", … while taken). Enrollments are not copied.
 */
export async function cloneSequence(
  deps: LifecycleDeps,
  workspaceId: string,
  sequenceId: string,
  name: string | undefined,
): Promise<SequenceResult<SequenceView>> {
  const [source] = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!source) return { ok: false, error: 'not_found' };
  const definition = await loadVersion(deps.db, source.id, source.currentVersion);
  if (!definition) throw new Error(`sequence ${source.id} lacks version ${source.currentVersion}`);
  const candidates = name
    ? [name]
    : Array.from({ length: 20 }, (_, i) => copyName(source.name, i === 0 ? '(copy)' : `(copy ${i + 1})`));
  for (const candidate of candidates) {
    const row = await deps.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(sequences)
        .values({ workspaceId, name: candidate, currentVersion: 1 })
        .onConflictDoNothing()
        .returning();
      if (created)
        await tx.insert(sequenceVersions).values({ sequenceId: created.id, version: 1, definition });
      return created;
    });
    if (row) return { ok: true, value: { ...row, definition } };
  }
  return { ok: false, error: 'name_taken' };
}

/** "<name> <suffix>" within the 200 characters a name may have. */
const copyName = (name: string, suffix: string) => `${name.slice(0, 200 - suffix.length - 1)} ${suffix}`;

/**
 * Deletes a draft that never had an enrollment (its versions go with it). Anything else has a
 * history the timeline and stats point at: archive it instead.
 */
export async function deleteDraft(
  deps: LifecycleDeps,
  workspaceId: string,
  sequenceId: string,
): Promise<{ ok: true } | { ok: false; error: 'not_found' | 'not_draft' | 'has_enrollments' }> {
  return deps.db.transaction(async (tx) => {
    const [sequence] = await tx
      .select({ status: sequences.status })
      .from(sequences)
      .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)))
      .for('update');
    if (!sequence) return { ok: false, error: 'not_found' } as const;
    if (sequence.status !== 'draft') return { ok: false, error: 'not_draft' } as const;
    const [any] = await tx
      .select({ id: enrollments.id })
      .from(enrollments)
      .where(eq(enrollments.sequenceId, sequenceId))
      .limit(1);
    if (any) return { ok: false, error: 'has_enrollments' } as const;
    await tx.delete(sequences).where(eq(sequences.id, sequenceId));
    return { ok: true } as const;
  });
}

export type MigrateRequest = {
  fromVersion: number;
  toVersion: number;
  stepMap?: Record<string, string> | undefined;
};

/** `migrateEnrollments` for one sequence of the workspace, after checking both versions exist. */
export async function migrateSequence(
  deps: LifecycleDeps,
  workspaceId: string,
  sequenceId: string,
  input: MigrateRequest,
): Promise<
  MigrateResult | { ok: false; error: 'not_found' } | { ok: false; error: 'unknown_version'; path: string }
> {
  const [sequence] = await deps.db
    .select({ id: sequences.id })
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return { ok: false, error: 'not_found' };
  const from = await loadVersion(deps.db, sequenceId, input.fromVersion);
  if (!from) return { ok: false, error: 'unknown_version', path: 'body.fromVersion' };
  const to = await loadVersion(deps.db, sequenceId, input.toVersion);
  if (!to) return { ok: false, error: 'unknown_version', path: 'body.toVersion' };
  return deps.db.transaction(async (tx) => {
    // One migration of a sequence at a time: two would lock the same enrollments in turn anyway.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`migrate:${sequenceId}`}, 0))`);
    // A refusal comes back before anything is written.
    return migrateEnrollments(tx, {
      workspaceId,
      sequenceId,
      fromVersion: input.fromVersion,
      toVersion: input.toVersion,
      from,
      to,
      stepMap: input.stepMap ?? {},
    });
  });
}
