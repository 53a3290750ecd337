import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { badRequest, HttpError } from '../http/errors';
import { wellFormed } from '../http/unicode-text';
import { emailFromJson, emailFromRaw } from '../../engine/inbound/email';
import { ingestEmail, ingestLinkedInEvent } from '../../engine/inbound/ingest';
import { enqueueInbound } from '../../engine/inbound/enqueue';
import { StaleWebhookSecret, type WebhookReceipt } from '../../engine/inbound/receipts';
import { verifySignature } from './signature';
import { acceptedSecrets, webhookSecrets } from './webhook-secrets';
import {
  InboundEmailBody,
  InboundResult,
  LinkedInEventBody,
  WorkspaceParams,
} from '../../engine/inbound/schemas';

/** Inbound webhooks are small; anything above 1 MiB is refused with 413 before it is read further. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

const tags = ['inbound webhooks'];
const signatureHeaders = z.object({
  'webhook-id': z.string().optional(),
  'webhook-timestamp': z.string().optional(),
  'webhook-signature': z.string().optional(),
});
const emailHeaders = signatureHeaders.extend({
  prefer: z
    .string()
    .max(200)
    .optional()
    .describe(
      '`respond-async`: answer 202 once the message is stored, and apply it in the background (see the reply guarantee)',
    ),
});
/** RFC 7240: the client asks for an answer before the work is done. */
const wantsAsync = (request: FastifyRequest) =>
  /(^|,)\s*respond-async\s*(,|;|$)/i.test(String(request.headers.prefer ?? ''));
/** A raw message's header block names a sender or a Message-ID (checked without parsing it). */
const rawHasIdentity = (raw: Buffer) => {
  const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return /(^|\n)(from|message-id)[ \t]*:/i.test(end === -1 ? head : head.slice(0, end));
};
/**
 * The answers of an acknowledgement, checked against the response schema and serialised once:
 * a reply burst sends thousands of the same two bodies, and the serializer re-checked each.
 */
const serialised = (status: 'accepted' | 'duplicate') =>
  JSON.stringify(InboundResult.parse({ status, classification: null, leadId: null, messageId: null }));
const acknowledged = { accepted: serialised('accepted'), duplicate: serialised('duplicate') };
const acknowledge = (reply: FastifyReply, status: 'accepted' | 'duplicate') =>
  reply
    .code(status === 'accepted' ? 202 : 200)
    .type('application/json; charset=utf-8')
    .send(acknowledged[status]);
const invalidSignature = (reason: string) =>
  new HttpError(401, 'invalid_signature', `signature rejected: ${reason}`);
const WorkspaceId = z.uuid();
/** Checks a request for a workspace that does not exist; never matches (nobody knows it). */
const unknownWorkspaceSecret = `whsec_${randomBytes(32).toString('base64')}`;

/**
 * `/v1/webhooks/:workspaceId/…`: inbound email (JSON or raw MIME) and LinkedIn events, authenticated
 * by the Standard Webhooks signature with the workspace's webhook secret instead of an API key.
 * Every body is read as raw bytes (this plugin's own content-type parser) so the signature is
 * checked on exactly what was sent, before anything is parsed.
 */
export const webhooksRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    /** Each request's receipt, and its raw body in case the receipt must be checked again. */
    const verified = new WeakMap<FastifyRequest, { receipt: WebhookReceipt; raw: Buffer }>();
    const secrets = webhookSecrets(deps);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );

    /** Checks the signature with the workspace's secret: the cached one, else (or if it fails) a fresh read. */
    const verify = async (
      workspaceId: string,
      raw: Buffer,
      request: FastifyRequest,
    ): Promise<WebhookReceipt> => {
      const cached = secrets.cached(workspaceId);
      const quick = cached && verifySignature(acceptedSecrets(cached), raw, request.headers);
      if (cached && quick?.ok) return { webhookId: quick.webhookId, sealedSecret: cached.sealed };
      const key = await secrets.load(workspaceId);
      // An unknown workspace goes through the same checks with a secret nobody holds, so every
      // answer (missing header, stale timestamp, bad signature) is the one a known workspace gets.
      const result = verifySignature(
        key ? acceptedSecrets(key) : unknownWorkspaceSecret,
        raw,
        request.headers,
      );
      if (!key) throw invalidSignature(result.ok ? 'no matching signature found' : result.reason);
      if (!result.ok) throw invalidSignature(result.reason);
      return { webhookId: result.webhookId, sealedSecret: key.sealed };
    };

    app.addHook('preValidation', async (request) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const workspaceId = WorkspaceId.safeParse((request.params as { workspaceId?: string }).workspaceId);
      if (!workspaceId.success) {
        const result = verifySignature(unknownWorkspaceSecret, raw, request.headers);
        throw invalidSignature(result.ok ? 'no matching signature found' : result.reason);
      }
      verified.set(request, { receipt: await verify(workspaceId.data, raw, request), raw });
      if (request.routeOptions.url?.endsWith('/raw')) return;
      try {
        // Made well-formed as app.ts does for other JSON bodies (this plugin parses its own).
        request.body = wellFormed(JSON.parse(raw.toString('utf8')));
      } catch {
        throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
      }
    });

    /**
     * Runs the ingest with the request's receipt. A secret changed meanwhile (a rotation here or in
     * another process) gets one more check against a fresh read, so a signature made with a secret
     * still in its grace period goes through; one that no longer verifies is a 401.
     */
    const ingest = async <T>(
      request: FastifyRequest<{ Params: { workspaceId: string } }>,
      work: (receipt: WebhookReceipt | undefined) => Promise<T>,
    ): Promise<T> => {
      const checked = verified.get(request);
      try {
        return await work(checked?.receipt);
      } catch (err) {
        if (!(err instanceof StaleWebhookSecret) || !checked) throw err;
        secrets.forget(request.params.workspaceId);
      }
      const again = await verify(request.params.workspaceId, checked.raw, request);
      try {
        return await work(again);
      } catch (err) {
        if (!(err instanceof StaleWebhookSecret)) throw err;
        secrets.forget(request.params.workspaceId);
        throw invalidSignature('no matching signature found');
      }
    };

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
          headers: emailHeaders,
          body: InboundEmailBody,
          response: { 200: InboundResult, 202: InboundResult },
        },
      },
      async (request, reply) => {
        if (wantsAsync(request)) {
          const body = Buffer.from(JSON.stringify(request.body));
          const status = await ingest(request, (receipt) =>
            enqueueInbound(deps.db, {
              workspaceId: request.params.workspaceId,
              kind: 'email_json',
              body,
              receipt,
            }),
          );
          return acknowledge(reply, status);
        }
        return ingest(request, (receipt) =>
          ingestEmail(deps, {
            workspaceId: request.params.workspaceId,
            email: emailFromJson(request.body),
            receipt,
          }),
        );
      },
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
          headers: emailHeaders,
          response: { 200: InboundResult, 202: InboundResult },
        },
      },
      async (request, reply) => {
        if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
          throw badRequest('body', 'must be a raw RFC 5322 message');
        }
        if (wantsAsync(request)) {
          const body = request.body;
          if (!rawHasIdentity(body)) throw badRequest('body', 'has no From or Message-ID header');
          const status = await ingest(request, (receipt) =>
            enqueueInbound(deps.db, {
              workspaceId: request.params.workspaceId,
              kind: 'email_raw',
              body,
              receipt,
            }),
          );
          return acknowledge(reply, status);
        }
        const email = await emailFromRaw(request.body);
        if (!email.from && !email.messageId) throw badRequest('body', 'has no From or Message-ID header');
        return ingest(request, (receipt) =>
          ingestEmail(deps, { workspaceId: request.params.workspaceId, email, receipt }),
        );
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
        ingest(request, (receipt) =>
          ingestLinkedInEvent(
            deps,
            {
              workspaceId: request.params.workspaceId,
              type: request.body.type,
              linkedinUrl: request.body.linkedinUrl,
              text: request.body.text ?? null,
              at: request.body.at ? new Date(request.body.at) : undefined,
            },
            { receipt },
          ),
        ),
    );
  };
