import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { HttpError, notFound } from '../http/errors';
import { IdParams, PageQuery, page, ts } from '../http/schemas';
import { enrollmentStatuses, type stepRuns, stepRunStatuses } from '../../db/schema/index';
import { resolveAmbiguousRun } from '../../engine/resolve';
import { controlEnrollment, getEnrollment } from './enrollments.service';
import {
  type EnrollmentRow,
  listLeadEnrollments,
  listSequenceEnrollments,
  listStepRunsPage,
} from './enrollment-lists.service';

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

const StepRunQuery = z.object({
  status: z.enum(stepRunStatuses).optional().describe('Only runs in this status; every status when absent'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page'),
});

const EnrollmentListQuery = PageQuery.extend({
  status: z.enum(enrollmentStatuses).optional().describe('Only enrollments in this status'),
});

const EnrollmentSummary = z.object({
  id: z.uuid(),
  leadId: z.uuid(),
  sequenceId: z.uuid(),
  version: z.number().int().describe('The sequence version it runs'),
  status: z.enum(enrollmentStatuses),
  reason: z.string().nullable().describe('Why it left `active`'),
  currentStepId: z.string().nullable(),
  nextRunAt: z.string().nullable(),
  createdAt: z.string(),
  endedAt: z.string().nullable(),
});

const enrollmentSummary = (e: EnrollmentRow) => ({
  id: e.id,
  leadId: e.leadId,
  sequenceId: e.sequenceId,
  version: e.version,
  status: e.status,
  reason: e.reason,
  currentStepId: e.currentStepId,
  nextRunAt: ts(e.nextRunAt),
  createdAt: e.createdAt.toISOString(),
  endedAt: ts(e.endedAt),
});

type StepRunRow = typeof stepRuns.$inferSelect;
const stepRunView = (r: StepRunRow) => ({
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
        stepRuns: e.stepRuns.map(stepRunView),
      };
    };

    app.get(
      '/enrollments/:id',
      { schema: { tags, params: IdParams, response: { 200: EnrollmentOut } } },
      (request) => read(request.workspaceId, request.params.id),
    );

    app.get(
      '/step-runs',
      {
        schema: {
          tags,
          summary:
            'Step runs, oldest first, optionally in one status: e.g. ?status=ambiguous to find runs an operator must settle',
          querystring: StepRunQuery,
          response: { 200: page(StepRunOut.extend({ enrollmentId: z.uuid() })) },
        },
      },
      async (request) => {
        const result = await listStepRunsPage(deps, request.workspaceId, request.query);
        return {
          data: result.data.map((r) => ({ ...stepRunView(r), enrollmentId: r.enrollmentId })),
          nextCursor: result.nextCursor,
        };
      },
    );

    app.get(
      '/sequences/:id/enrollments',
      {
        schema: {
          tags,
          summary: "A sequence's enrollments (every version), newest first",
          params: IdParams,
          querystring: EnrollmentListQuery,
          response: { 200: page(EnrollmentSummary) },
        },
      },
      async (request) => {
        const result = await listSequenceEnrollments(
          deps,
          request.workspaceId,
          request.params.id,
          request.query,
        );
        if (!result) throw notFound('sequence');
        return { data: result.data.map(enrollmentSummary), nextCursor: result.nextCursor };
      },
    );

    app.get(
      '/leads/:id/enrollments',
      {
        schema: {
          tags,
          summary: "A lead's enrollments in every sequence, newest first",
          params: IdParams,
          querystring: EnrollmentListQuery,
          response: { 200: page(EnrollmentSummary) },
        },
      },
      async (request) => {
        const result = await listLeadEnrollments(deps, request.workspaceId, request.params.id, request.query);
        if (!result) throw notFound('lead');
        return { data: result.data.map(enrollmentSummary), nextCursor: result.nextCursor };
      },
    );

    app.post(
      '/step-runs/:id/resolve',
      {
        schema: {
          tags,
          summary: 'Settle an ambiguous run as sent or skipped; the sequence then continues',
          params: IdParams,
          body: z.object({ outcome: z.enum(['sent', 'skipped']) }),
          response: { 200: z.object({ resolved: z.literal(true) }) },
        },
      },
      async (request) => {
        const result = await resolveAmbiguousRun(
          deps,
          request.workspaceId,
          request.params.id,
          request.body.outcome,
        );
        if (!result.ok && result.error === 'not_found') throw notFound('step run');
        if (!result.ok) throw new HttpError(409, 'not_ambiguous', 'only an ambiguous run can be resolved');
        return { resolved: true as const };
      },
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
