import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import {
  CreateLinkedInAccountBody,
  LinkedInAccount,
  UpdateLinkedInAccountBody,
} from './linkedin-accounts.schemas';
import {
  createAccount,
  deleteAccount,
  getAccount,
  listAccounts,
  updateAccount,
} from './linkedin-accounts.service';

const tags = ['linkedin'];

/** LinkedIn accounts: sessions go in sealed and never come back out. */
export const linkedinRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/linkedin-accounts',
      {
        schema: {
          tags,
          summary: 'Add a LinkedIn account from its exported cookies or li_at',
          body: CreateLinkedInAccountBody,
          response: { 201: LinkedInAccount },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createAccount(deps, request.workspaceId, request.body)),
    );

    app.get(
      '/linkedin-accounts',
      { schema: { tags, querystring: PageQuery, response: { 200: page(LinkedInAccount) } } },
      async (request) => listAccounts(deps, request.workspaceId, request.query),
    );

    app.get(
      '/linkedin-accounts/:id',
      { schema: { tags, params: IdParams, response: { 200: LinkedInAccount } } },
      async (request) => {
        const account = await getAccount(deps, request.workspaceId, request.params.id);
        if (!account) throw notFound('linkedin account');
        return account;
      },
    );

    app.patch(
      '/linkedin-accounts/:id',
      {
        schema: {
          tags,
          summary: 'Rename, replace the session, change limits or working hours, pause or resume',
          params: IdParams,
          body: UpdateLinkedInAccountBody,
          response: { 200: LinkedInAccount },
        },
      },
      async (request) => {
        const account = await updateAccount(deps, request.workspaceId, request.params.id, request.body);
        if (!account) throw notFound('linkedin account');
        return account;
      },
    );

    app.delete(
      '/linkedin-accounts/:id',
      { schema: { tags, params: IdParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await deleteAccount(deps, request.workspaceId, request.params.id)))
          throw notFound('linkedin account');
        return reply.code(204).send(null);
      },
    );
  };
