import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams, page } from '../http/schemas';
import {
  CreateSuppressionBody,
  DeleteSuppressionQuery,
  ListSuppressionsQuery,
  Suppression,
} from './suppressions.schemas';
import {
  addSuppression,
  listSuppressions,
  removeSuppression,
  type SuppressionRow,
  targetOf,
} from '../../engine/suppressions';

const view = (row: SuppressionRow): Suppression => ({
  id: row.id,
  kind: row.kind,
  value: row.value,
  reason: row.reason,
  createdAt: row.createdAt.toISOString(),
});

/** `/v1/suppressions`: emails, domains and LinkedIn profiles never to contact, checked before every step. */
export const suppressionsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/suppressions',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'Suppress an email, a domain or a LinkedIn profile (201 new, 200 already there)',
          body: CreateSuppressionBody,
          response: { 200: Suppression, 201: Suppression },
        },
      },
      async (request, reply) => {
        const { row, created } = await addSuppression(deps.db, {
          workspaceId: request.workspaceId,
          ...targetOf(request.body),
          reason: request.body.reason ?? 'manual',
        });
        return reply.code(created ? 201 : 200).send(view(row));
      },
    );

    app.get(
      '/suppressions',
      {
        schema: {
          tags: ['suppressions'],
          querystring: ListSuppressionsQuery,
          response: { 200: page(Suppression) },
        },
      },
      async (request) => {
        const result = await listSuppressions(deps.db, request.workspaceId, request.query);
        return { data: result.data.map(view), nextCursor: result.nextCursor };
      },
    );

    app.delete(
      '/suppressions',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'Lift a suppression by ?email=, ?domain= or ?linkedinUrl=',
          querystring: DeleteSuppressionQuery,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        if (!(await removeSuppression(deps.db, request.workspaceId, targetOf(request.query))))
          throw notFound('suppression');
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/suppressions/:id',
      { schema: { tags: ['suppressions'], params: IdParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await removeSuppression(deps.db, request.workspaceId, { id: request.params.id })))
          throw notFound('suppression');
        return reply.code(204).send(null);
      },
    );
  };
