import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { funnel } from '../../api/analytics/funnel.service';
import { listStepRuns } from '../../api/enrollments/enrollments.service';
import { resolveAmbiguousRun } from '../../engine/resolve';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { barChart, mailboxUsage, repliesPerDay } from './dashboard.service';

const PERIODS = [7, 30, 90] as const;
const DashboardQuery = z.object({
  days: z.coerce
    .number()
    .pipe(z.union(PERIODS.map((p) => z.literal(p))))
    .catch(30),
});
const ResolveBody = z.object({ outcome: z.enum(['sent', 'skipped']) });

/** The dashboard (`/app`): funnel, replies per day, mailboxes against their caps, ambiguous steps. */
export function registerDashboardRoutes(app: FastifyInstance, deps: Deps): void {
  const session = (request: FastifyRequest, reply: FastifyReply) => requireSession(deps, request, reply);

  const dashboard = async (request: FastifyRequest, reply: FastifyReply, notice?: string) => {
    const workspaceId = request.webSession.workspaceId;
    const { days } = DashboardQuery.parse(request.query ?? {});
    const now = new Date();
    const [conversion, replies, boxes, ambiguous] = await Promise.all([
      funnel(deps.db, workspaceId, { from: new Date(now.getTime() - days * 86_400_000), to: now }),
      repliesPerDay(deps.db, workspaceId, 14, now),
      mailboxUsage(deps.db, workspaceId, now),
      listStepRuns(deps, workspaceId, { status: 'ambiguous', limit: 100 }),
    ]);
    return render(reply, 'dashboard', {
      nav: 'dashboard',
      title: 'Dashboard',
      session: request.webSession,
      csrf: csrfToken(deps, request, reply),
      days,
      periods: PERIODS,
      funnel: conversion,
      chart: barChart(replies),
      repliesTotal: replies.reduce((a, r) => a + r.count, 0),
      mailboxes: boxes,
      inboxes: boxes.filter((b) => b.readsInbox),
      ambiguous: ambiguous.map((r) => ({
        id: r.id,
        stepId: r.stepId,
        enrollmentId: r.enrollmentId,
        updatedAt: r.updatedAt,
      })),
      notice,
    });
  };

  app.get('/app', { config: page, schema: { hide: true }, preHandler: session }, async (request, reply) =>
    dashboard(request, reply),
  );

  app.post(
    '/app/step-runs/:id/resolve',
    { config: page, schema: { hide: true }, preHandler: [session, app.csrfProtection] },
    async (request, reply) => {
      const id = z.uuid().safeParse((request.params as { id: string }).id);
      const body = ResolveBody.safeParse(request.body);
      if (!id.success || !body.success) return reply.code(400).type('text/plain').send('Bad request');
      // The API's resolve service: the run is settled and the sequence moves on, as over the API.
      const result = await resolveAmbiguousRun(
        deps,
        request.webSession.workspaceId,
        id.data,
        body.data.outcome,
      );
      if (!result.ok && result.error === 'not_found')
        return reply.code(404).type('text/plain').send('Not found');
      if (!result.ok) {
        reply.code(409);
        return dashboard(request, reply, 'That step is no longer ambiguous.');
      }
      return reply.redirect('/app#ambiguous', 303);
    },
  );
}
