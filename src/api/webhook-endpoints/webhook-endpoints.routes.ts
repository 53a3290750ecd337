import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { conflict, HttpError, notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import {
  CreatedWebhookEndpoint,
  DEFAULT_OVERLAP_HOURS,
  CreateWebhookEndpointBody,
  DeliveriesQuery,
  Delivery,
  DeliveryParams,
  ReplayedDelivery,
  RotatedSecret,
  RotateSecretBody,
  TestPingResult,
  UpdateWebhookEndpointBody,
  WebhookEndpoint,
} from './webhook-endpoints.schemas';
import { replayDelivery, rotateSecret, sendTestPing, updateEndpoint } from './endpoint-changes.service';
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

const privateAddress = () =>
  new HttpError(400, 'private_address', `body.url: ${privateUrl}`, [
    { path: 'body.url', message: privateUrl },
  ]);

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
        throw privateAddress();
      },
    );

    app.patch(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'Change the URL (checked like at creation), events, description or enabled flag',
          params: IdParams,
          body: UpdateWebhookEndpointBody,
          response: { 200: WebhookEndpoint },
        },
      },
      async (request) => {
        const updated = await updateEndpoint(deps, request.workspaceId, request.params.id, request.body);
        if (updated.ok) return updated.endpoint;
        if (updated.error === 'not_found') throw notFound('webhook endpoint');
        throw privateAddress();
      },
    );

    app.post(
      '/webhook-endpoints/:id/rotate-secret',
      {
        schema: {
          tags,
          summary:
            'New signing secret, shown once; the previous one also signs deliveries during the overlap',
          params: IdParams,
          body: RotateSecretBody,
          response: { 200: RotatedSecret },
        },
      },
      async (request) => {
        const overlapHours = request.body?.overlapHours ?? DEFAULT_OVERLAP_HOURS;
        const rotated = await rotateSecret(deps, request.workspaceId, request.params.id, overlapHours);
        if (!rotated) throw notFound('webhook endpoint');
        return rotated;
      },
    );

    app.post(
      '/webhook-endpoints/:id/deliveries/:deliveryId/replay',
      {
        schema: {
          tags,
          summary: 'Deliver a finished delivery again, under the same webhook-id, with a fresh retry budget',
          params: DeliveryParams,
          response: { 202: ReplayedDelivery },
        },
      },
      async (request, reply) => {
        const { id, deliveryId } = request.params;
        const replayed = await replayDelivery(deps, request.workspaceId, id, deliveryId);
        if (replayed.ok) return reply.code(202).send({ id: deliveryId, status: 'pending' as const });
        if (replayed.error === 'pending')
          throw conflict('delivery_pending', 'this delivery is still pending: it is already on its way');
        throw notFound('delivery');
      },
    );

    app.post(
      '/webhook-endpoints/:id/test',
      {
        schema: {
          tags,
          summary: "Send a signed webhook.test ping now and answer with the receiver's status",
          params: IdParams,
          response: { 200: TestPingResult },
        },
      },
      async (request) => {
        const ping = await sendTestPing(deps, request.workspaceId, request.params.id);
        if (!ping) throw notFound('webhook endpoint');
        return ping;
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
