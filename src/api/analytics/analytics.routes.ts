import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { Funnel, FunnelQuery } from './analytics.schemas';
import { funnel } from './funnel.service';

export const analyticsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/analytics/funnel',
      {
        schema: {
          tags: ['analytics'],
          summary:
            'Per stage: leads entering in [from, to], share reaching the next stage, median time in stage',
          querystring: FunnelQuery,
          response: { 200: Funnel },
        },
      },
      async (request) => funnel(deps.db, request.workspaceId, request.query),
    );
  };
