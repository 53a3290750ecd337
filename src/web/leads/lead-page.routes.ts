import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../../context';
import { controlEnrollment } from '../../api/enrollments/enrollments.service';
import { leadTimeline } from '../../api/leads/lead-activity.service';
import { addNote } from '../../api/leads/lead-notes.service';
import { findLead } from '../../api/leads/leads.repo';
import { NoteBody } from '../../api/leads/leads.schemas';
import { listStages } from '../../timeline/stage-moves';
import { csrfToken, page, render, requireSession } from '../page-kit';
import { leadEnrollments, stageHistory } from './lead-page.service';

const Id = z.object({ id: z.uuid() });
const Action = z.enum(['pause', 'resume', 'stop']);

/** The lead page, its notes form and its enrollments' pause, resume and stop. */
export function registerLeadRoutes(app: FastifyInstance, deps: Deps): void {
  const session = (request: FastifyRequest, reply: FastifyReply) => requireSession(deps, request, reply);
  const mutate = { config: page, schema: { hide: true }, preHandler: [session, app.csrfProtection] };

  const leadPage = async (request: FastifyRequest, reply: FastifyReply, leadId: string, notice?: string) => {
    const workspaceId = request.webSession.workspaceId;
    const lead = await findLead(deps.db, workspaceId, leadId);
    if (!lead) return reply.code(404).type('text/plain').send('No such lead');
    const [stages, history, timeline, enrolled] = await Promise.all([
      listStages(deps.db, workspaceId),
      stageHistory(deps.db, workspaceId, leadId),
      leadTimeline(deps.db, workspaceId, leadId, 100),
      leadEnrollments(deps.db, workspaceId, leadId),
    ]);
    const name = [lead.firstName, lead.lastName].filter(Boolean).join(' ') || lead.email || 'Unnamed lead';
    return render(reply, 'lead', {
      nav: 'board',
      title: name,
      session: request.webSession,
      csrf: csrfToken(deps, request, reply),
      lead,
      name,
      stage: stages.find((s) => s.key === lead.stage)?.name ?? lead.stage,
      customFields: Object.entries(lead.customFields).map(([key, value]) => ({
        key,
        value: typeof value === 'string' ? value : JSON.stringify(value),
      })),
      history,
      timeline: timeline ?? [],
      enrollments: enrolled,
      notice,
    });
  };

  app.get(
    '/app/leads/:id',
    { config: page, schema: { hide: true }, preHandler: session },
    async (request, reply) => {
      const params = Id.safeParse(request.params);
      if (!params.success) return reply.code(404).type('text/plain').send('No such lead');
      return leadPage(request, reply, params.data.id);
    },
  );

  app.post('/app/leads/:id/notes', mutate, async (request, reply) => {
    const params = Id.safeParse(request.params);
    if (!params.success) return reply.code(404).type('text/plain').send('No such lead');
    const body = NoteBody.safeParse(request.body);
    if (!body.success) {
      reply.code(400);
      return leadPage(request, reply, params.data.id, 'A note needs text (at most 10,000 characters).');
    }
    // The notes API's own service: the author is the signed-in key's name, as over the API.
    const note = await addNote(deps.db, {
      workspaceId: request.webSession.workspaceId,
      leadId: params.data.id,
      apiKeyId: request.webSession.apiKeyId,
      body: body.data.body,
    });
    if (!note) return reply.code(404).type('text/plain').send('No such lead');
    return reply.redirect(`/app/leads/${params.data.id}#timeline`, 303);
  });

  app.post('/app/enrollments/:id/:action', mutate, async (request, reply) => {
    const params = Id.extend({ action: Action }).safeParse(request.params);
    const leadId = z.object({ leadId: z.uuid() }).safeParse(request.body);
    if (!params.success || !leadId.success) return reply.code(404).type('text/plain').send('Not found');
    const { id, action } = params.data;
    const result = await controlEnrollment(deps, request.webSession.workspaceId, id, action);
    if (!result.ok && result.error === 'not_found')
      return reply.code(404).type('text/plain').send('Not found');
    if (!result.ok) {
      reply.code(409);
      return leadPage(
        request,
        reply,
        leadId.data.leadId,
        `Cannot ${action} an enrollment that is ${result.status}.`,
      );
    }
    return reply.redirect(`/app/leads/${leadId.data.leadId}#enrollments`, 303);
  });
}
