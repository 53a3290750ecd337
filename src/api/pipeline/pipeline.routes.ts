import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { badRequest, HttpError } from '../http/errors';
import { ts } from '../http/schemas';
import { leadView } from '../leads/leads.repo';
import { Lead } from '../leads/leads.schemas';
import { cleanupStaleLeads, getCleanupSchedule, setCleanupSchedule } from '../../timeline/cleanup';
import {
  BoardQuery,
  CleanupBody,
  CleanupResult,
  CleanupSchedule,
  CleanupScheduleView,
  ReplaceStagesBody,
  ScoringRulesBody,
  ScoringRulesView,
  Stage,
  StageList,
} from './pipeline.schemas';
import { listStages } from '../../timeline/stage-moves';
import { loadScoringRules, saveScoringRules } from '../../timeline/scoring';
import { pipelineBoard, replaceStages } from './stages.service';

const tags = ['pipeline'];
const unknownStage = (stage: string) => badRequest('body.toStage', `unknown stage "${stage}"`);

export const pipelineRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/pipeline/stages',
      { schema: { tags, summary: 'Stages in pipeline order', response: { 200: StageList } } },
      async (request) => ({ data: await listStages(deps.db, request.workspaceId) }),
    );

    app.put(
      '/pipeline/stages',
      {
        schema: {
          tags,
          summary: 'Replace the stage list (reorder, rename, add, remove with moveLeadsTo)',
          body: ReplaceStagesBody,
          response: { 200: StageList.extend({ moved: z.number().int() }) },
        },
      },
      async (request) => {
        const outcome = await replaceStages(deps.db, request.workspaceId, request.body);
        if (outcome.ok) return { data: outcome.stages, moved: outcome.moved };
        const names = outcome.holding.map((h) => `${h.stage} (${h.leads})`).join(', ');
        throw new HttpError(
          409,
          outcome.error,
          `removed stages still hold leads: ${names}; say where they go with moveLeadsTo`,
          outcome.holding,
        );
      },
    );

    app.get(
      '/pipeline',
      {
        schema: {
          tags,
          summary: 'The board: lead count and most recently updated leads per stage',
          querystring: BoardQuery,
          response: {
            200: z.object({
              data: z.array(Stage.extend({ count: z.number().int(), leads: z.array(Lead) })),
            }),
          },
        },
      },
      async (request) => {
        const board = await pipelineBoard(deps.db, request.workspaceId, request.query.limit);
        return { data: board.map((s) => ({ ...s, leads: s.leads.map(leadView) })) };
      },
    );

    app.post(
      '/pipeline/cleanup',
      {
        schema: {
          tags,
          summary: 'Move stale open leads (no activity for staleDays) to a stage',
          body: CleanupBody,
          response: { 200: CleanupResult },
        },
      },
      async (request) => {
        const outcome = await deps.db.transaction((tx) =>
          cleanupStaleLeads(tx, request.workspaceId, request.body),
        );
        if (!outcome.ok) throw unknownStage(request.body.toStage);
        return { moved: outcome.moved };
      },
    );

    app.get(
      '/pipeline/cleanup/schedule',
      { schema: { tags, response: { 200: CleanupScheduleView } } },
      async (request) => {
        const view = await getCleanupSchedule(deps.db, request.workspaceId);
        return { schedule: view.schedule, lastRunAt: ts(view.lastRunAt) };
      },
    );

    app.put(
      '/pipeline/cleanup/schedule',
      {
        schema: {
          tags,
          summary: 'Run the clean-up every everyHours hours',
          body: CleanupSchedule,
          response: { 200: CleanupScheduleView },
        },
      },
      async (request) => {
        const saved = await setCleanupSchedule(deps.db, request.workspaceId, request.body);
        if (!saved.ok) throw unknownStage(request.body.toStage);
        const view = await getCleanupSchedule(deps.db, request.workspaceId);
        return { schedule: view.schedule, lastRunAt: ts(view.lastRunAt) };
      },
    );

    app.delete(
      '/pipeline/cleanup/schedule',
      { schema: { tags, response: { 204: z.null() } } },
      async (request, reply) => {
        await setCleanupSchedule(deps.db, request.workspaceId, null);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/pipeline/scoring',
      { schema: { tags, summary: 'Lead scoring rules', response: { 200: ScoringRulesView } } },
      async (request) => loadScoringRules(deps.db, request.workspaceId),
    );

    app.put(
      '/pipeline/scoring',
      {
        schema: {
          tags,
          summary: 'Replace the scoring rules; every score is recomputed and qualified leads promoted',
          body: ScoringRulesBody,
          response: { 200: ScoringRulesView.extend({ promoted: z.number().int() }) },
        },
      },
      async (request) => {
        const pipeline = await listStages(deps.db, request.workspaceId);
        for (const field of ['qualifyFrom', 'qualifyTo'] as const) {
          const key = request.body[field];
          if (key !== null && !pipeline.some((s) => s.key === key))
            throw badRequest(`body.${field}`, `unknown stage "${key}"`);
        }
        const from = pipeline.find((s) => s.key === request.body.qualifyFrom);
        if (from && from.kind !== 'open')
          throw badRequest(
            'body.qualifyFrom',
            `stage "${from.key}" is ${from.kind}: promotion starts from an open stage`,
          );
        const { promoted } = await deps.db.transaction((tx) =>
          saveScoringRules(tx, request.workspaceId, request.body),
        );
        return { ...(await loadScoringRules(deps.db, request.workspaceId)), promoted };
      },
    );
  };
