import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import {
  ApiKey,
  CreateApiKeyBody,
  CreatedApiKey,
  CreatedWorkspace,
  CreateWorkspaceBody,
  RotateWebhookSecretBody,
  WebhookSecretView,
  Workspace,
  WorkspacePatch,
} from './workspaces.schemas';
import {
  DEFAULT_ROTATION_GRACE_SECONDS,
  readWebhookSecret,
  rotateWebhookSecret,
  type WebhookSecretView as SecretView,
} from './webhook-secret.service';
import {
  createApiKey,
  createWorkspace,
  getWorkspace,
  listApiKeys,
  revokeApiKey,
  updateWorkspace,
} from './workspaces.service';
import { webhookSecretJson } from './webhook-secret.service';

export const workspacesRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/workspaces',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['workspaces'],
          summary: 'Create a workspace (admin token)',
          body: CreateWorkspaceBody,
          response: { 201: CreatedWorkspace },
        },
      },
      async (request, reply) => reply.code(201).send(await createWorkspace(deps, request.body)),
    );

    app.get(
      '/workspaces/:id/webhook-secret',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['workspaces'],
          summary: "The workspace's inbound webhook secret (admin token)",
          params: IdParams,
          response: { 200: WebhookSecretView },
        },
      },
      async (request) => secretView(await readWebhookSecret(deps, request.params.id)),
    );

    app.post(
      '/workspaces/:id/webhook-secret/rotate',
      {
        config: { auth: 'admin' },
        schema: {
          tags: ['workspaces'],
          summary:
            'Replace the inbound webhook secret; the old one verifies during graceSeconds (admin token)',
          params: IdParams,
          body: RotateWebhookSecretBody,
          response: { 200: WebhookSecretView },
        },
      },
      async (request) =>
        secretView(
          await rotateWebhookSecret(
            deps,
            request.params.id,
            request.body?.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS,
          ),
        ),
    );

    app.get(
      '/workspace',
      { schema: { tags: ['workspaces'], summary: "The caller's workspace", response: { 200: Workspace } } },
      async (request) => {
        const ws = await getWorkspace(deps, request.workspaceId);
        if (!ws) throw notFound('workspace');
        return workspaceView(ws);
      },
    );

    app.patch(
      '/workspace',
      {
        schema: {
          tags: ['workspaces'],
          summary:
            "Change the caller's workspace (its default holiday country, the list check's bounce threshold)",
          body: WorkspacePatch,
          response: { 200: Workspace },
        },
      },
      async (request) => {
        const ws = await updateWorkspace(deps, request.workspaceId, request.body);
        if (!ws) throw notFound('workspace');
        return workspaceView(ws);
      },
    );

    app.post(
      '/api-keys',
      { schema: { tags: ['workspaces'], body: CreateApiKeyBody, response: { 201: CreatedApiKey } } },
      async (request, reply) => {
        const key = await createApiKey(deps, request.workspaceId, request.body.name);
        return reply.code(201).send({ ...key, createdAt: key.createdAt.toISOString() });
      },
    );

    app.get(
      '/api-keys',
      { schema: { tags: ['workspaces'], response: { 200: z.object({ data: z.array(ApiKey) }) } } },
      async (request) => ({
        data: (await listApiKeys(deps, request.workspaceId)).map((k) => ({
          ...k,
          createdAt: k.createdAt.toISOString(),
        })),
      }),
    );

    app.delete(
      '/api-keys/:id',
      { schema: { tags: ['workspaces'], params: IdParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await revokeApiKey(deps, request.workspaceId, request.params.id))) throw notFound('api key');
        return reply.code(204).send(null);
      },
    );
  };

const workspaceView = (ws: {
  id: string;
  name: string;
  timezone: string;
  country: string | null;
  bounceThresholdPercent: number;
  checkOnEnroll: boolean;
  createdAt: Date;
}) => ({
  id: ws.id,
  name: ws.name,
  timezone: ws.timezone,
  country: ws.country,
  bounceThresholdPercent: ws.bounceThresholdPercent,
  checkOnEnroll: ws.checkOnEnroll,
  createdAt: ws.createdAt.toISOString(),
});

function secretView(view: SecretView | null) {
  if (!view) throw notFound('workspace');
  return webhookSecretJson(view);
}
