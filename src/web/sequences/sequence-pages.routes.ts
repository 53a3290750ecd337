import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { getSequence, setSequenceStatus } from '../../api/sequences/sequences.service';
import { sequenceStats } from '../../api/sequences/stats';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { sequencesWithCounts } from './sequence-pages.service';

const Id = z.object({ id: z.uuid() });
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

  const sequencePage = async (request: FastifyRequest, reply: FastifyReply, id: string, notice?: string) => {
    const seq = await getSequence(deps, request.webSession.workspaceId, id);
    if (!seq) return reply.code(404).type('text/plain').send('No such sequence');
    // The same function as GET /v1/sequences/:id/stats, so the page and the API never disagree.
    const stats = await sequenceStats(deps.db, seq.id, seq.definition);
    return render(reply, 'sequence', {
      nav: 'sequences',
      title: seq.name,
      session: request.webSession,
      csrf: csrfToken(deps, request, reply),
      sequence: { id: seq.id, name: seq.name, status: seq.status, version: seq.currentVersion },
      steps: seq.definition.steps.map((s) => ({ id: s.id, type: s.type })),
      stats,
      notice,
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
