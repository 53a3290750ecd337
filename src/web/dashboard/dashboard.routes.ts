import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { funnel } from '../../api/analytics/funnel.service';
import { listStepRuns } from '../../api/enrollments/enrollments.service';
import { listAccounts } from '../../api/linkedin-accounts/linkedin-accounts.service';
import { resolveAmbiguousRun } from '../../engine/resolve';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { barChart, linkedinWindows, mailboxUsage, repliesPerDay } from './dashboard.service';

const PERIODS = [7, 30, 90] as const;
const DashboardQuery = z.object({
  days: z.coerce
    .number()
    .pipe(z.union(PERIODS.map((p) => z.literal(p))))
    .catch(30),
});
/** Accounts on the dashboard; a workspace runs a handful, the API lists them all. */
const LINKEDIN_ACCOUNTS_SHOWN = 100;
const ResolveBody = z.object({ outcome: z.enum(['sent', 'skipped']) });

/**
 * The dashboard (`/app`): funnel, replies per day, mailboxes against their caps, LinkedIn accounts
 * against their windows, inbox sync, ambiguous steps.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: Deps): void {
  const session = (request: FastifyRequest, reply: FastifyReply) => requireSession(deps, request, reply);

  const dashboard = async (request: FastifyRequest, reply: FastifyReply, notice?: string) => {
    const workspaceId = request.webSession.workspaceId;
    const { days } = DashboardQuery.parse(request.query ?? {});
    const now = new Date();
    const [conversion, replies, boxes, ambiguous, linkedin] = await Promise.all([
      funnel(deps.db, workspaceId, { from: new Date(now.getTime() - days * 86_400_000), to: now }),
      repliesPerDay(deps.db, workspaceId, 14, now),
      mailboxUsage(deps.db, workspaceId, now),
      listStepRuns(deps, workspaceId, { status: 'ambiguous', limit: 100 }),
      // The API's own view of the accounts: their effective limits and the usage of each window.
      listAccounts(deps, workspaceId, { limit: LINKEDIN_ACCOUNTS_SHOWN }),
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
      linkedin: linkedin.data.map((a) => ({
        id: a.id,
        name: a.name,
        status: a.status,
        windows: linkedinWindows(a),
      })),
      linkedinMore: linkedin.nextCursor !== null,
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
