import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { type CheckEntry, checkAddresses, leadEntries } from '../../engine/list-check';
import { HttpError } from '../http/errors';
import { ListCheckBody, ListCheckOut } from './list-check.schemas';

export const listCheckRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/leads/check',
      {
        schema: {
          tags: ['leads'],
          summary:
            'Check addresses before a launch: syntax, MX, disposable domain, role address, suppressed or bounced',
          body: ListCheckBody,
          response: { 200: ListCheckOut },
        },
      },
      async (request) => {
        const { emails = [], leadIds = [] } = request.body;
        const found = await leadEntries(deps.db, request.workspaceId, leadIds);
        if (found.missing.length > 0) {
          const missing = new Set(found.missing);
          const details = leadIds.flatMap((id, i) =>
            missing.has(id) ? [{ path: `body.leadIds.${i}`, message: 'no such lead in this workspace' }] : [],
          );
          throw new HttpError(
            404,
            'not_found',
            `${details[0]?.path}: no such lead in this workspace`,
            details,
          );
        }
        const entries: CheckEntry[] = [
          ...emails.map((email) => ({ email, leadId: null })),
          ...leadIds.flatMap((id) => {
            const entry = found.entries.get(id);
            return entry ? [entry] : [];
          }),
        ];
        return checkAddresses(deps, request.workspaceId, entries);
      },
    );
  };
