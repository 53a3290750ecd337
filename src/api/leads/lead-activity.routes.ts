import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { badRequest, notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import { z } from 'zod';
import { leadTimelinePage, moveLeadToStage } from './lead-activity.service';
import { leadView } from './leads.repo';
import { StageBody, StageChangeResult, Timeline, TimelineQuery } from './leads.schemas';

const tags = ['leads'];

/** `limit` as before (default 100), plus a cursor: a client that sends no cursor sees no change. */
const TimelinePageQuery = TimelineQuery.extend({
  cursor: z.string().max(300).optional().describe('`nextCursor` of the previous page'),
});
const TimelinePage = Timeline.extend({
  nextCursor: z.string().nullable().describe('Pass as `cursor` for older items; null on the last page'),
});

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
          querystring: TimelinePageQuery,
          response: { 200: TimelinePage },
        },
      },
      async (request) => {
        const page = await leadTimelinePage(deps.db, request.workspaceId, request.params.id, request.query);
        if (!page) throw notFound('lead');
        return page;
      },
    );
  };
