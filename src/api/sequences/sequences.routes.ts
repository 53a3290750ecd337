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
import { sequenceStats } from './stats';

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

const EnrollBody = z.object({ leadIds: z.array(z.uuid()).min(1).max(10_000) });
const EnrollOut = z.object({
  enrolled: z.array(z.object({ leadId: z.string(), enrollmentId: z.string() })),
  skipped: z.array(z.object({ leadId: z.string(), reason: z.string() })),
});

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
        const result = await enrollLeads(deps, request.workspaceId, request.params.id, request.body.leadIds);
        if (result.ok) return { enrolled: result.enrolled, skipped: result.skipped };
        return unwrap(result);
      },
    );

    app.get('/sequences/:id/stats', { schema: { tags, params: IdParams } }, async (request) => {
      const seq = await getSequence(deps, request.workspaceId, request.params.id);
      if (!seq) throw notFound('sequence');
      return sequenceStats(deps.db, seq.id, seq.definition);
    });
  };
