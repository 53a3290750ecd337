import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { badRequest, notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import { leadTimeline, moveLeadToStage } from './lead-activity.service';
import { leadView } from './leads.repo';
import { StageBody, StageChangeResult, Timeline, TimelineQuery } from './leads.schemas';

const tags = ['leads'];

/** Stage moves and the timeline of one lead (its notes: `lead-notes.routes.ts`). */
export const leadActivityRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/leads/:id/stage',
      {
        schema: {
          tags,
          summary: 'Move a lead to a stage; records a stage event',
          params: IdParams,
          body: StageBody,
          response: { 200: StageChangeResult },
        },
      },
      async (request) => {
        const outcome = await moveLeadToStage(deps.db, request.workspaceId, request.params.id, request.body);
        if (!outcome.ok) {
          if (outcome.error === 'not_found') throw notFound('lead');
          throw badRequest('body.stage', `unknown stage "${request.body.stage}"`);
        }
        return { changed: outcome.changed, from: outcome.from, to: outcome.to, lead: leadView(outcome.lead) };
      },
    );

    app.get(
      '/leads/:id/timeline',
      {
        schema: {
          tags,
          summary: 'Stage changes, notes, messages and events, newest first',
          params: IdParams,
          querystring: TimelineQuery,
          response: { 200: Timeline },
        },
      },
      async (request) => {
        const data = await leadTimeline(deps.db, request.workspaceId, request.params.id, request.query.limit);
        if (!data) throw notFound('lead');
        return { data };
      },
    );
  };
