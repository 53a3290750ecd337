import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { conflict, HttpError, notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import { decodeCursor, toPage } from '../../db/keyset';
import { enrollLeads } from '../../engine/enroll';
import {
  CreateSequenceBody,
  Schedule,
  SequenceDefinitionInput,
  SequenceSettings,
} from '../../core/sequences';
import {
  createSequence,
  getSequence,
  listSequences,
  type SequenceResult,
  type SequenceView,
  setSequenceStatus,
  updateSequence,
} from './sequences.service';
import { SequenceStatsOut, sequenceStats } from './stats';
import { checkBeforeEnrolling } from '../list-check/enroll-check';
import { MAX_CHECKED_ADDRESSES } from '../../engine/list-check';
import {
  cloneSequence,
  deleteDraft,
  listVersions,
  migrateSequence,
  type VersionView,
} from './lifecycle.service';

const SequenceOut = z.object({
  id: z.uuid(),
  name: z.string(),
  status: z.string(),
  version: z.number().int(),
  steps: z.array(z.looseObject({ id: z.string(), type: z.string() })),
  schedule: Schedule.nullable(),
  settings: SequenceSettings,
  createdAt: z.string(),
  updatedAt: z.string(),
});

const UpdateSequenceBody = z.intersection(
  z.object({ name: z.string().trim().min(1).max(200).optional() }),
  SequenceDefinitionInput,
);

const EnrollBody = z.object({
  leadIds: z.array(z.uuid()).min(1).max(10_000),
  check: z
    .boolean()
    .optional()
    .describe(
      `Check the leads' addresses first (as POST /v1/leads/check; at most ${MAX_CHECKED_ADDRESSES} leads) and refuse the batch with a 422 when the share expected to bounce is above the workspace's bounceThresholdPercent. Default: the workspace's checkOnEnroll`,
    ),
});
const EnrollOut = z.object({
  enrolled: z.array(z.object({ leadId: z.string(), enrollmentId: z.string() })),
  skipped: z.array(z.object({ leadId: z.string(), reason: z.string() })),
});

const VersionOut = z.object({
  version: z.number().int(),
  current: z.boolean().describe('Whether new enrollments start on this version'),
  createdAt: z.string(),
  steps: z.array(z.looseObject({ id: z.string(), type: z.string() })),
  schedule: Schedule.nullable(),
  settings: SequenceSettings,
  liveEnrollments: z
    .number()
    .int()
    .describe('Active and paused enrollments pinned to this version: who a migration from it would move'),
});

const versionView = (v: VersionView) => ({
  version: v.version,
  current: v.current,
  createdAt: v.createdAt.toISOString(),
  steps: v.definition.steps,
  schedule: v.definition.schedule ?? null,
  settings: v.definition.settings,
  liveEnrollments: v.liveEnrollments,
});

const CloneBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('Name of the copy; default "<name> (copy)", then "(copy 2)"… while taken'),
  })
  .nullish();

const Version = z.number().int().min(1);
const MigrateBody = z
  .object({
    fromVersion: Version.describe('Enrollments pinned to this version move'),
    toVersion: Version.describe('…to this one (any other existing version, usually the current one)'),
    stepMap: z
      .record(z.string().max(64), z.string().max(64))
      .refine((map) => Object.keys(map).length <= 200, 'at most 200 entries')
      .optional()
      .describe(
        'Old step id → step id in toVersion, for the steps toVersion no longer has; a step with the same id in both needs no entry',
      ),
  })
  .refine((body) => body.fromVersion !== body.toVersion, {
    path: ['toVersion'],
    message: 'must differ from fromVersion',
  });

const MigrateOut = z.object({
  migrated: z.number().int().describe('Enrollments moved to toVersion by this call'),
  skipped: z
    .array(
      z.object({
        enrollmentId: z.uuid(),
        reason: z
          .enum(['in_flight', 'target_step_already_ran'])
          .describe(
            '`in_flight`: its step is being sent (or ambiguous) now; call again later. `target_step_already_ran`: the step it would move to already ran for it',
          ),
      }),
    )
    .describe('Enrollments left on fromVersion'),
});

const validation = (details: { path: string; message: string }[]) =>
  new HttpError(400, 'validation_failed', details.map((d) => `${d.path}: ${d.message}`).join('; '), details);

const view = (s: SequenceView) => ({
  id: s.id,
  name: s.name,
  status: s.status,
  version: s.currentVersion,
  steps: s.definition.steps,
  schedule: s.definition.schedule ?? null,
  settings: s.definition.settings,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});

/** Maps the service's expected outcomes to HTTP, in one place. */
function unwrap<T>(result: SequenceResult<T>): T {
  if (result.ok) return result.value;
  if (result.error === 'not_found') throw notFound('sequence');
  if (result.error === 'name_taken') throw conflict('name_taken', 'a sequence with this name exists');
  if (result.error === 'unknown_stage') {
    throw new HttpError(
      400,
      'validation_failed',
      result.details.map((d) => `${d.path}: ${d.message}`).join('; '),
      result.details,
    );
  }
  throw new HttpError(409, 'sequence_archived', 'the sequence is archived');
}

export const sequencesRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['sequences'];
    app.post(
      '/sequences',
      {
        schema: {
          tags,
          summary: 'Create a sequence (draft)',
          body: CreateSequenceBody,
          response: { 201: SequenceOut },
        },
      },
      async (request, reply) =>
        reply.code(201).send(view(unwrap(await createSequence(deps, request.workspaceId, request.body)))),
    );

    app.get(
      '/sequences',
      { schema: { tags, querystring: PageQuery, response: { 200: page(SequenceOut) } } },
      async (request) => {
        const { limit, cursor } = request.query;
        const rows = await listSequences(deps, request.workspaceId, limit, decodeCursor(cursor));
        return toPage(rows, limit, view);
      },
    );

    app.get(
      '/sequences/:id',
      { schema: { tags, params: IdParams, response: { 200: SequenceOut } } },
      async (request) => {
        const seq = await getSequence(deps, request.workspaceId, request.params.id);
        if (!seq) throw notFound('sequence');
        return view(seq);
      },
    );

    app.put(
      '/sequences/:id',
      {
        schema: {
          tags,
          summary: 'Replace the steps: writes a new version; enrolled leads keep theirs',
          params: IdParams,
          body: UpdateSequenceBody,
          response: { 200: SequenceOut },
        },
      },
      async (request) =>
        view(unwrap(await updateSequence(deps, request.workspaceId, request.params.id, request.body))),
    );

    for (const [action, status] of [
      ['activate', 'active'],
      ['pause', 'paused'],
      ['archive', 'archived'],
    ] as const) {
      app.post(
        `/sequences/:id/${action}`,
        { schema: { tags, params: IdParams, response: { 200: SequenceOut } } },
        async (request) =>
          view(unwrap(await setSequenceStatus(deps, request.workspaceId, request.params.id, status))),
      );
    }

    app.post(
      '/sequences/:id/enrollments',
      { schema: { tags, params: IdParams, body: EnrollBody, response: { 200: EnrollOut } } },
      async (request) => {
        await checkBeforeEnrolling(deps, request.workspaceId, request.params.id, request.body);
        const result = await enrollLeads(deps, request.workspaceId, request.params.id, request.body.leadIds);
        if (result.ok) return { enrolled: result.enrolled, skipped: result.skipped };
        return unwrap(result);
      },
    );

    app.get(
      '/sequences/:id/versions',
      {
        schema: {
          tags,
          summary: "A sequence's versions, newest first, with the live enrollments pinned to each",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: page(VersionOut) },
        },
      },
      async (request) => {
        const result = await listVersions(deps, request.workspaceId, request.params.id, request.query);
        if (!result) throw notFound('sequence');
        return { data: result.data.map(versionView), nextCursor: result.nextCursor };
      },
    );

    app.post(
      '/sequences/:id/clone',
      {
        schema: {
          tags,
          summary: 'Copy the current version into a new draft sequence (enrollments are not copied)',
          params: IdParams,
          body: CloneBody,
          response: { 201: SequenceOut },
        },
      },
      async (request, reply) => {
        const cloned = await cloneSequence(deps, request.workspaceId, request.params.id, request.body?.name);
        return reply.code(201).send(view(unwrap(cloned)));
      },
    );

    app.delete(
      '/sequences/:id',
      {
        schema: {
          tags,
          summary: 'Delete a draft that never had an enrollment; archive anything else',
          params: IdParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        const deleted = await deleteDraft(deps, request.workspaceId, request.params.id);
        if (deleted.ok) return reply.code(204).send(null);
        if (deleted.error === 'not_found') throw notFound('sequence');
        if (deleted.error === 'not_draft')
          throw conflict('not_draft', 'only a draft can be deleted; archive an activated sequence');
        throw conflict('has_enrollments', 'this draft has had enrollments; archive it instead');
      },
    );

    app.post(
      '/sequences/:id/migrate',
      {
        schema: {
          tags,
          summary:
            'Move live enrollments from one version to another without re-sending anything already sent',
          params: IdParams,
          body: MigrateBody,
          response: { 200: MigrateOut },
        },
      },
      async (request) => {
        const result = await migrateSequence(deps, request.workspaceId, request.params.id, request.body);
        if (result.ok) return { migrated: result.migrated, skipped: result.skipped };
        if (result.error === 'not_found') throw notFound('sequence');
        if (result.error === 'unknown_version')
          throw validation([{ path: result.path, message: 'no such version of this sequence' }]);
        if (result.error === 'invalid_step_map') throw validation(result.details);
        throw new HttpError(
          400,
          'unmapped_steps',
          `enrollments wait on steps that version ${request.body.toVersion} lacks: ${result.stepIds.join(', ')}; map each in stepMap`,
          result.stepIds.map((id) => ({
            path: `body.stepMap.${id}`,
            message: 'no step with this id in toVersion; map it',
          })),
        );
      },
    );

    app.get(
      '/sequences/:id/stats',
      { schema: { tags, params: IdParams, response: { 200: SequenceStatsOut } } },
      async (request) => {
        const seq = await getSequence(deps, request.workspaceId, request.params.id);
        if (!seq) throw notFound('sequence');
        return sequenceStats(deps.db, seq.id, seq.definition);
      },
    );
  };
