import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { getSequence, setSequenceStatus } from '../../api/sequences/sequences.service';
import { sequenceStats } from '../../api/sequences/stats';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { sequencesWithCounts } from './sequence-pages.service';
import { simulateSequence } from '../../api/sequences/simulate.service';
import { HttpError } from '../../api/http/errors';
import { barChart } from '../dashboard/dashboard.service';

/** The most leads the page simulates at once (the API takes up to 10,000). */
const MAX_PAGE_SAMPLE = 2_000;

const Id = z.object({ id: z.uuid() });
/** `?sample=N` runs the simulation on the page; without it the page stays cheap. */
const SimulateQuery = z.object({
  sample: z.coerce.number().int().min(1).max(MAX_PAGE_SAMPLE).optional(),
});
/** Days of the plan the page charts (the API answers all of them). */
const CHART_DAYS = 45;
const Action = z.enum(['activate', 'pause']);
const statusOf = { activate: 'active', pause: 'paused' } as const;

/** The sequences list, a sequence's results per step and variant, and activate / pause. */
export function registerSequenceRoutes(app: FastifyInstance, deps: Deps): void {
  const session = (request: FastifyRequest, reply: FastifyReply) => requireSession(deps, request, reply);

  app.get(
    '/app/sequences',
    { config: page, schema: { hide: true }, preHandler: session },
    async (request, reply) =>
      render(reply, 'sequences', {
        nav: 'sequences',
        session: request.webSession,
        csrf: csrfToken(deps, request, reply),
        sequences: await sequencesWithCounts(deps.db, request.webSession.workspaceId),
      }),
  );

  /**
   * The simulation the page shows: the same `simulateSequence` as POST /v1/sequences/:id/simulate,
   * for a sample of the workspace's leads or the leads of one stage. Its refusals (too many leads,
   * an unknown stage) are shown as text, never a 500.
   */
  const simulation = async (workspaceId: string, sequenceId: string, query: unknown) => {
    const parsed = SimulateQuery.safeParse(query);
    if (!parsed.success) return { error: 'sample: a whole number from 1 to 2,000' };
    const { sample } = parsed.data;
    if (sample === undefined) return null;
    try {
      const result = await simulateSequence(deps, workspaceId, sequenceId, { sample });
      if (!result) return null;
      const days = result.days.slice(0, CHART_DAYS);
      return {
        leads: result.leads.length,
        skipped: result.skipped.length,
        finishesAt: result.finishesAt,
        summary: result.summary,
        bottlenecks: result.bottlenecks.slice(0, 20),
        chart: barChart(days.map((d) => ({ day: d.date, count: d.planned }))),
        sample,
      };
    } catch (err) {
      if (err instanceof HttpError) return { error: err.message };
      throw err;
    }
  };

  const sequencePage = async (request: FastifyRequest, reply: FastifyReply, id: string, notice?: string) => {
    const seq = await getSequence(deps, request.webSession.workspaceId, id);
    if (!seq) return reply.code(404).type('text/plain').send('No such sequence');
    // The same function as GET /v1/sequences/:id/stats, so the page and the API never disagree.
    const stats = await sequenceStats(deps.db, seq.id, seq.definition);
    const simulated =
      request.method === 'GET'
        ? await simulation(request.webSession.workspaceId, seq.id, request.query)
        : null;
    return render(reply, 'sequence', {
      nav: 'sequences',
      title: seq.name,
      session: request.webSession,
      csrf: csrfToken(deps, request, reply),
      sequence: { id: seq.id, name: seq.name, status: seq.status, version: seq.currentVersion },
      steps: seq.definition.steps.map((s) => ({ id: s.id, type: s.type })),
      stats,
      notice,
      simulated,
      maxSample: MAX_PAGE_SAMPLE,
    });
  };

  app.get(
    '/app/sequences/:id',
    { config: page, schema: { hide: true }, preHandler: session },
    async (request, reply) => {
      const params = Id.safeParse(request.params);
      if (!params.success) return reply.code(404).type('text/plain').send('No such sequence');
      return sequencePage(request, reply, params.data.id);
    },
  );

  app.post(
    '/app/sequences/:id/:action',
    { config: page, schema: { hide: true }, preHandler: [session, app.csrfProtection] },
    async (request, reply) => {
      const params = Id.extend({ action: Action }).safeParse(request.params);
      if (!params.success) return reply.code(404).type('text/plain').send('Not found');
      const { id, action } = params.data;
      const result = await setSequenceStatus(deps, request.webSession.workspaceId, id, statusOf[action]);
      if (!result.ok && result.error === 'not_found')
        return reply.code(404).type('text/plain').send('Not found');
      if (!result.ok) {
        reply.code(409);
        return sequencePage(request, reply, id, `Cannot ${action} this sequence (${result.error}).`);
      }
      return reply.redirect(`/app/sequences/${id}`, 303);
    },
  );
}
