import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { page } from '../http/schemas';
import { InboundMessage, InboundQuery, MarkedReply, MarkReplyBody } from './replies.schemas';
import { listInbound, markReply } from './replies.service';

const tags = ['replies'];

/** `POST /v1/replies` (mark a reply from any integration) and `GET /v1/inbound` (what came in). */
export const repliesRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/replies',
      {
        schema: {
          tags,
          summary: 'Mark that a lead replied: stops its cadences and applies the reply stage rules',
          body: MarkReplyBody,
          response: { 200: MarkedReply },
        },
      },
      async (request) => {
        const result = await markReply(deps, request.workspaceId, request.body);
        if (!result) throw notFound('lead');
        return result;
      },
    );

    app.get(
      '/inbound',
      {
        schema: {
          tags,
          summary: 'Inbound messages, newest first; ?status=unmatched lists mail no lead was found for',
          querystring: InboundQuery,
          response: { 200: page(InboundMessage) },
        },
      },
      async (request) => listInbound(deps.db, request.workspaceId, request.query),
    );
  };
