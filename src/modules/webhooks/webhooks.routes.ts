import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { badRequest, HttpError } from '../../http/errors';
import { wellFormed } from '../../http/unicode-text';
import { workspaceWebhookSecret } from '../workspaces/workspaces.service';
import { emailFromJson, emailFromRaw } from './inbound-email';
import { ingestEmail, ingestLinkedInEvent } from './inbound.service';
import { verifySignature } from './signature';
import { InboundEmailBody, InboundResult, LinkedInEventBody, WorkspaceParams } from './webhooks.schemas';

/** Inbound webhooks are small; anything above 1 MiB is refused with 413 before it is read further. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

const tags = ['inbound webhooks'];
const signatureHeaders = z.object({
  'webhook-id': z.string().optional(),
  'webhook-timestamp': z.string().optional(),
  'webhook-signature': z.string().optional(),
});
const invalidSignature = (reason: string) =>
  new HttpError(401, 'invalid_signature', `signature rejected: ${reason}`);
const WorkspaceId = z.uuid();

/**
 * `/v1/webhooks/:workspaceId/…`: inbound email (JSON or raw MIME) and LinkedIn events, authenticated
 * by the Standard Webhooks signature with the workspace's webhook secret instead of an API key.
 * Every body is read as raw bytes (this plugin's own content-type parser) so the signature is
 * checked on exactly what was sent, before anything is parsed.
 */
export const webhooksRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const verified = new WeakMap<FastifyRequest, string>();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );

    app.addHook('preValidation', async (request) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const { workspaceId } = request.params as { workspaceId?: string };
      // An unknown workspace looks like a bad signature: no oracle for which workspace ids exist.
      const secret = WorkspaceId.safeParse(workspaceId).success
        ? await workspaceWebhookSecret(deps, workspaceId ?? '')
        : null;
      if (!secret) throw invalidSignature('no matching signature found');
      const result = verifySignature(secret, raw, request.headers);
      if (!result.ok) throw invalidSignature(result.reason);
      verified.set(request, result.webhookId);
      if (request.routeOptions.url?.endsWith('/raw')) return;
      try {
        // Made well-formed as app.ts does for other JSON bodies (this plugin parses its own).
        request.body = wellFormed(JSON.parse(raw.toString('utf8')));
      } catch {
        throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
      }
    });
    const webhookIdOf = (request: FastifyRequest) => verified.get(request);

    app.post(
      '/webhooks/:workspaceId/email',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags,
          summary: 'Inbound email as JSON (Standard Webhooks signature)',
          security: [],
          params: WorkspaceParams,
          headers: signatureHeaders,
          body: InboundEmailBody,
          response: { 200: InboundResult },
        },
      },
      async (request) =>
        ingestEmail(deps, {
          workspaceId: request.params.workspaceId,
          email: emailFromJson(request.body),
          webhookId: webhookIdOf(request),
        }),
    );

    app.post(
      '/webhooks/:workspaceId/email/raw',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags,
          summary: 'Inbound email as a raw MIME message (message/rfc822, Standard Webhooks signature)',
          security: [],
          params: WorkspaceParams,
          headers: signatureHeaders,
          response: { 200: InboundResult },
        },
      },
      async (request) => {
        if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
          throw badRequest('body', 'must be a raw RFC 5322 message');
        }
        const email = await emailFromRaw(request.body);
        if (!email.from && !email.messageId) throw badRequest('body', 'has no From or Message-ID header');
        return ingestEmail(deps, {
          workspaceId: request.params.workspaceId,
          email,
          webhookId: webhookIdOf(request),
        });
      },
    );

    app.post(
      '/webhooks/:workspaceId/linkedin',
      {
        config: { auth: 'public' },
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          tags,
          summary: 'LinkedIn reply or accepted invitation (Standard Webhooks signature)',
          security: [],
          params: WorkspaceParams,
          headers: signatureHeaders,
          body: LinkedInEventBody,
          response: { 200: InboundResult },
        },
      },
      async (request) =>
        ingestLinkedInEvent(
          deps,
          {
            workspaceId: request.params.workspaceId,
            type: request.body.type,
            linkedinUrl: request.body.linkedinUrl,
            text: request.body.text ?? null,
            at: request.body.at ? new Date(request.body.at) : undefined,
          },
          { webhookId: webhookIdOf(request) },
        ),
    );
  };
