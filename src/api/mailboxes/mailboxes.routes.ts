import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { HttpError, notFound } from '../http/errors';
import { IdParams, page } from '../http/schemas';
import { verifyMailbox } from '../../channels/email/inbox/verify';
import {
  CreateMailboxBody,
  ListMailboxesQuery,
  Mailbox,
  MailboxVerification,
  UpdateMailboxBody,
} from './mailboxes.schemas';
import {
  createMailbox,
  deleteMailbox,
  getMailbox,
  listMailboxes,
  type MailboxWrite,
  toMailboxView,
  updateMailbox,
} from './mailboxes.service';

const privateHost =
  'must not be a private, loopback or link-local address unless ALLOWED_PRIVATE_TARGETS allows it';

/** The mailbox a write produced, or the HTTP error its refusal is. */
function written(result: MailboxWrite) {
  if (result.ok) return toMailboxView(result.row);
  if (result.error === 'not_found') throw notFound('mailbox');
  if (result.error === 'smtp_required') {
    const message = 'is required unless oauth2.provider is google or microsoft';
    throw new HttpError(400, 'validation_failed', `${result.field}: ${message}`, [
      { path: result.field, message },
    ]);
  }
  throw new HttpError(400, 'private_address', `${result.field}: ${privateHost}`, [
    { path: result.field, message: privateHost },
  ]);
}

/** `/v1/mailboxes`: the SMTP senders of a workspace, with their limits. Secrets go in, never out. */
export const mailboxesRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['mailboxes'];

    app.post(
      '/mailboxes',
      { schema: { tags, summary: 'Add a mailbox', body: CreateMailboxBody, response: { 201: Mailbox } } },
      async (request, reply) =>
        reply.code(201).send(written(await createMailbox(deps, request.workspaceId, request.body))),
    );

    app.get(
      '/mailboxes',
      { schema: { tags, querystring: ListMailboxesQuery, response: { 200: page(Mailbox) } } },
      async (request) => listMailboxes(deps, request.workspaceId, request.query),
    );

    app.get(
      '/mailboxes/:id',
      { schema: { tags, params: IdParams, response: { 200: Mailbox } } },
      async (request) => {
        const row = await getMailbox(deps, request.workspaceId, request.params.id);
        if (!row) throw notFound('mailbox');
        return toMailboxView(row);
      },
    );

    app.patch(
      '/mailboxes/:id',
      { schema: { tags, params: IdParams, body: UpdateMailboxBody, response: { 200: Mailbox } } },
      async (request) =>
        written(await updateMailbox(deps, request.workspaceId, request.params.id, request.body)),
    );

    app.post(
      '/mailboxes/:id/verify',
      {
        schema: {
          tags,
          summary: 'Log in over SMTP and IMAP with the saved settings and say what works',
          description:
            "Nothing is sent and nothing in the mailbox changes. A refusal carries the server's own words " +
            '(e.g. `535 5.7.8 Username and Password not accepted`).',
          params: IdParams,
          response: { 200: MailboxVerification },
        },
      },
      async (request) => {
        const row = await getMailbox(deps, request.workspaceId, request.params.id);
        if (!row) throw notFound('mailbox');
        return verifyMailbox(deps, row);
      },
    );

    app.delete(
      '/mailboxes/:id',
      {
        schema: {
          tags,
          summary: 'Soft-delete: it stops sending',
          params: IdParams,
          response: { 204: z.null() },
        },
      },
      async (request, reply) => {
        if (!(await deleteMailbox(deps, request.workspaceId, request.params.id))) throw notFound('mailbox');
        return reply.code(204).send(null);
      },
    );
  };
