import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { notFound } from '../http/errors';
import { IdParams } from '../http/schemas';
import { MAX_SIMULATED_LEADS, simulateSequence } from './simulate.service';

const Rate = z.number().min(0).max(1);

export const SimulateBody = z
  .object({
    leadIds: z.array(z.uuid()).min(1).max(MAX_SIMULATED_LEADS).optional(),
    filter: z
      .object({
        stage: z.string().trim().min(1).max(64).optional(),
        status: z.enum(['active', 'unsubscribed', 'bounced', 'do_not_contact']).optional(),
      })
      .strict()
      .optional()
      .describe(
        `Leads of the workspace matching this; at most ${MAX_SIMULATED_LEADS}, else 400 too_many_leads`,
      ),
    sample: z.number().int().min(1).max(MAX_SIMULATED_LEADS).optional(),
    start: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .optional()
      .describe('When the leads would be enrolled (default: now)'),
    seed: z.string().min(1).max(200).optional(),
    version: z.number().int().min(1).optional(),
    assume: z
      .object({
        replyRate: Rate.optional(),
        connectRate: Rate.optional(),
        bounceRate: Rate.optional(),
        openRate: Rate.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const SimStepOut = z.object({
  stepId: z.string(),
  type: z.string(),
  index: z.number().int(),
  at: z.string().describe('UTC'),
  localAt: z.string().describe("In the lead's time zone"),
  outcome: z.enum(['sent', 'failed', 'done']),
  reason: z.string().optional(),
  mailboxId: z.string().optional(),
  accountId: z.string().optional(),
  branch: z.enum(['then', 'else']).optional(),
  deferrals: z.number().int().optional(),
});

export const SimulateOut = z.object({
  sequenceId: z.string(),
  version: z.number().int(),
  start: z.string(),
  seed: z.string(),
  assume: z.object({ replyRate: Rate, connectRate: Rate, bounceRate: Rate, openRate: Rate }),
  skipped: z.array(z.object({ leadId: z.string(), reason: z.string() })),
  leads: z.array(
    z.object({
      leadId: z.string(),
      timezone: z.string(),
      status: z.enum(['completed', 'replied', 'bounced', 'blocked', 'stopped', 'unfinished']),
      reason: z.string().optional(),
      finishedAt: z.string().nullable(),
      steps: z.array(SimStepOut),
    }),
  ),
  days: z.array(
    z.object({
      date: z.string(),
      planned: z.number().int(),
      mailboxes: z.array(
        z.object({
          mailboxId: z.string(),
          planned: z.number().int(),
          booked: z.number().int(),
          cap: z.number().int(),
        }),
      ),
      accounts: z.array(
        z.object({
          accountId: z.string(),
          visits: z.number().int(),
          invites: z.number().int(),
          messages: z.number().int(),
        }),
      ),
    }),
  ),
  finishesAt: z
    .string()
    .nullable()
    .describe('When the last lead is done; null when some are not within the horizon'),
  bottlenecks: z.array(
    z.object({
      date: z.string(),
      mailboxId: z.string().optional(),
      accountId: z.string().optional(),
      limit: z.enum([
        'daily_cap',
        'warmup',
        'spacing',
        'linkedin_invitations',
        'linkedin_messages',
        'linkedin_visits',
      ]),
      cut: z.number().int().describe('Sends that day put off to a later day by this limit'),
    }),
  ),
  summary: z.string(),
});

export const simulateRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/sequences/:id/simulate',
      {
        schema: {
          tags: ['sequences'],
          summary:
            'Run a version of the sequence for some leads on a virtual clock, with the scheduler, capacity and limits the workers use; writes and sends nothing',
          params: IdParams,
          body: SimulateBody,
          response: { 200: SimulateOut },
        },
      },
      async (request) => {
        const result = await simulateSequence(deps, request.workspaceId, request.params.id, request.body);
        if (!result) throw notFound('sequence');
        return result;
      },
    );
  };
