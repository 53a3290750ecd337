import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { conflict, HttpError, notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import {
  CreatedWebhookEndpoint,
  CreateWebhookEndpointBody,
  DeliveriesQuery,
  Delivery,
  WebhookEndpoint,
} from './webhook-endpoints.schemas';
import {
  createEndpoint,
  deleteEndpoint,
  endpointView,
  findEndpoint,
  listDeliveries,
  listEndpoints,
  MAX_ENDPOINTS_PER_WORKSPACE,
} from './webhook-endpoints.service';

const tags = ['webhook endpoints'];
const privateUrl =
  'must not point at a private, loopback or link-local address unless ALLOWED_PRIVATE_TARGETS allows it';

/** `/v1/webhook-endpoints`: outbound subscriptions (CRM sync) and their delivery log. */
export const webhookEndpointsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/webhook-endpoints',
      {
        schema: {
          tags,
          summary: `Subscribe a URL to events (at most ${MAX_ENDPOINTS_PER_WORKSPACE} per workspace); the signing secret is shown once`,
          body: CreateWebhookEndpointBody,
          response: { 201: CreatedWebhookEndpoint },
        },
      },
      async (request, reply) => {
        const created = await createEndpoint(deps, request.workspaceId, request.body);
        if (created.ok) return reply.code(201).send(created.endpoint);
        if (created.error === 'limit_reached')
          throw conflict(
            'limit_reached',
            `a workspace has at most ${MAX_ENDPOINTS_PER_WORKSPACE} webhook endpoints; delete one first`,
          );
        throw new HttpError(400, 'private_address', `body.url: ${privateUrl}`, [
          { path: 'body.url', message: privateUrl },
        ]);
      },
    );

    app.get(
      '/webhook-endpoints',
      { schema: { tags, querystring: PageQuery, response: { 200: page(WebhookEndpoint) } } },
      async (request) => listEndpoints(deps.db, request.workspaceId, request.query),
    );

    app.get(
      '/webhook-endpoints/:id',
      { schema: { tags, params: IdParams, response: { 200: WebhookEndpoint } } },
      async (request) => {
        const row = await findEndpoint(deps.db, request.workspaceId, request.params.id);
        if (!row) throw notFound('webhook endpoint');
        return endpointView(row);
      },
    );

    app.delete(
      '/webhook-endpoints/:id',
      { schema: { tags, params: IdParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await deleteEndpoint(deps.db, request.workspaceId, request.params.id)))
          throw notFound('webhook endpoint');
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/webhook-endpoints/:id/deliveries',
      {
        schema: {
          tags,
          summary: 'Deliveries to this endpoint, newest first, each with every attempt',
          params: IdParams,
          querystring: DeliveriesQuery,
          response: { 200: page(Delivery) },
        },
      },
      async (request) => {
        const result = await listDeliveries(deps.db, request.workspaceId, request.params.id, request.query);
        if (!result) throw notFound('webhook endpoint');
        return result;
      },
    );
  };
