import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Deps } from '../../context';
import { conflict, HttpError, notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import { Automation, AutomationBody, AutomationList, AutomationPatch } from './automations.schemas';
import {
  countAutomations,
  createAutomation,
  deleteAutomation,
  getAutomation,
  invalidReferences,
  listAutomations,
  MAX_AUTOMATIONS,
  updateAutomation,
} from './automations.service';

const tags = ['automations'];

const invalid = (details: { path: string; message: string }[]) =>
  new HttpError(
    400,
    'validation_failed',
    details[0] ? `${details[0].path}: ${details[0].message}` : 'invalid rule',
    details,
  );

/**
 * Automation rules: when a lead enters a stage, reaches a score, or is created from a source, enroll
 * it in a sequence, move it, or give someone a task. Once per lead and rule; each shows on the lead's
 * timeline as `automation.applied`.
 */
export const automationsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/automations',
      { schema: { tags, summary: 'Automation rules, oldest first', response: { 200: AutomationList } } },
      async (request) => ({ data: await listAutomations(deps.db, request.workspaceId) }),
    );

    app.post(
      '/automations',
      {
        schema: {
          tags,
          summary: 'Create an automation rule',
          body: AutomationBody,
          response: { 201: Automation },
        },
      },
      async (request, reply) => {
        const issues = await invalidReferences(deps.db, request.workspaceId, request.body);
        if (issues.length > 0) throw invalid(issues);
        if ((await countAutomations(deps.db, request.workspaceId)) >= MAX_AUTOMATIONS)
          throw conflict('too_many_automations', `a workspace keeps at most ${MAX_AUTOMATIONS} rules`);
        return reply.code(201).send(await createAutomation(deps.db, request.workspaceId, request.body));
      },
    );

    app.get(
      '/automations/:id',
      { schema: { tags, summary: 'One automation rule', params: IdParams, response: { 200: Automation } } },
      async (request) => {
        const found = await getAutomation(deps.db, request.workspaceId, request.params.id);
        if (!found) throw notFound('automation');
        return found;
      },
    );

    app.patch(
      '/automations/:id',
      {
        schema: {
          tags,
          summary: 'Rename, turn on or off, or change the trigger or action of a rule',
          params: IdParams,
          body: AutomationPatch,
          response: { 200: Automation },
        },
      },
      async (request) => {
        const issues = await invalidReferences(deps.db, request.workspaceId, request.body);
        if (issues.length > 0) throw invalid(issues);
        const updated = await updateAutomation(deps.db, request.workspaceId, request.params.id, request.body);
        if (!updated) throw notFound('automation');
        return updated;
      },
    );

    app.delete(
      '/automations/:id',
      { schema: { tags, summary: 'Delete a rule', params: IdParams, response: { 204: z.null() } } },
      async (request, reply) => {
        if (!(await deleteAutomation(deps.db, request.workspaceId, request.params.id)))
          throw notFound('automation');
        return reply.code(204).send(null);
      },
    );
  };
