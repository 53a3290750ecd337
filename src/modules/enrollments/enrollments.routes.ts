import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { HttpError, notFound } from '../../http/errors';
import { IdParams, ts } from '../../http/schemas';
import { controlEnrollment, getEnrollment } from './enrollments.service';

const StepRunOut = z.object({
  id: z.uuid(),
  stepId: z.string(),
  stepIndex: z.number(),
  stepType: z.string(),
  status: z.string(),
  runAt: z.string(),
  dueAt: z.string(),
  executedAt: z.string().nullable(),
  attempts: z.number(),
  variant: z.number().nullable(),
  reason: z.string().nullable(),
});

const EnrollmentOut = z.object({
  id: z.uuid(),
  leadId: z.uuid(),
  sequenceId: z.uuid(),
  version: z.number(),
  status: z.string(),
  reason: z.string().nullable(),
  currentStepId: z.string().nullable(),
  nextRunAt: z.string().nullable(),
  mailboxId: z.string().nullable(),
  linkedinAccountId: z.string().nullable(),
  createdAt: z.string(),
  stepRuns: z.array(StepRunOut),
});

export const enrollmentsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['enrollments'];
    const read = async (workspaceId: string, id: string) => {
      const e = await getEnrollment(deps, workspaceId, id);
      if (!e) throw notFound('enrollment');
      return {
        id: e.id,
        leadId: e.leadId,
        sequenceId: e.sequenceId,
        version: e.version,
        status: e.status,
        reason: e.reason,
        currentStepId: e.currentStepId,
        nextRunAt: ts(e.nextRunAt),
        mailboxId: e.mailboxId,
        linkedinAccountId: e.linkedinAccountId,
        createdAt: e.createdAt.toISOString(),
        stepRuns: e.stepRuns.map((r) => ({
          id: r.id,
          stepId: r.stepId,
          stepIndex: r.stepIndex,
          stepType: r.stepType,
          status: r.status,
          runAt: r.runAt.toISOString(),
          dueAt: r.dueAt.toISOString(),
          executedAt: ts(r.executedAt),
          attempts: r.attempts,
          variant: r.variant,
          reason: r.reason,
        })),
      };
    };

    app.get(
      '/enrollments/:id',
      { schema: { tags, params: IdParams, response: { 200: EnrollmentOut } } },
      (request) => read(request.workspaceId, request.params.id),
    );

    for (const action of ['pause', 'resume', 'stop'] as const) {
      app.post(
        `/enrollments/:id/${action}`,
        { schema: { tags, params: IdParams, response: { 200: EnrollmentOut } } },
        async (request) => {
          const result = await controlEnrollment(deps, request.workspaceId, request.params.id, action);
          if (!result.ok && result.error === 'not_found') throw notFound('enrollment');
          if (!result.ok) {
            throw new HttpError(
              409,
              'invalid_state',
              `cannot ${action} an enrollment that is ${result.status}`,
            );
          }
          return read(request.workspaceId, request.params.id);
        },
      );
    }
  };
