import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context';
import { workspacesRoutes } from './workspaces/workspaces.routes';
import { sequencesRoutes } from './sequences/sequences.routes';
import { simulateRoutes } from './sequences/simulate.routes';
import { enrollmentsRoutes } from './enrollments/enrollments.routes';
import { linkedinRoutes } from './linkedin-accounts/linkedin-accounts.routes';
import { mailboxesRoutes } from './mailboxes/mailboxes.routes';
import { suppressionsRoutes } from './suppressions/suppressions.routes';
import { unsubscribeRoutes } from './unsubscribe/unsubscribe.routes';
import { trackingRoutes } from './tracking/tracking.routes';
import { leadsRoutes } from './leads/leads.routes';
import { pipelineRoutes } from './pipeline/pipeline.routes';
import { analyticsRoutes } from './analytics/analytics.routes';
import { webhooksRoutes } from './inbound-webhooks/inbound-webhooks.routes';
import { repliesRoutes } from './replies/replies.routes';
import { webhookEndpointsRoutes } from './webhook-endpoints/webhook-endpoints.routes';
import { tasksRoutes } from './tasks/tasks.routes';
import { automationsRoutes } from './automations/automations.routes';
import { jobsRoutes } from './jobs/jobs.routes';
import { listCheckRoutes } from './list-check/list-check.routes';
import { sequencePreviewRoutes } from './sequences/preview.routes';

/** Every `/v1` resource module; each registers its own routes under the prefix. */
export async function registerV1Routes(app: FastifyInstance, deps: Deps): Promise<void> {
  await app.register(workspacesRoutes(deps), { prefix: '/v1' });
  await app.register(mailboxesRoutes(deps), { prefix: '/v1' });
  await app.register(suppressionsRoutes(deps), { prefix: '/v1' });
  await app.register(sequencesRoutes(deps), { prefix: '/v1' });
  await app.register(simulateRoutes(deps), { prefix: '/v1' });
  await app.register(enrollmentsRoutes(deps), { prefix: '/v1' });
  await app.register(linkedinRoutes(deps), { prefix: '/v1' });
  await app.register(leadsRoutes(deps), { prefix: '/v1' });
  await app.register(pipelineRoutes(deps), { prefix: '/v1' });
  await app.register(analyticsRoutes(deps), { prefix: '/v1' });
  await app.register(webhooksRoutes(deps), { prefix: '/v1' });
  await app.register(repliesRoutes(deps), { prefix: '/v1' });
  await app.register(webhookEndpointsRoutes(deps), { prefix: '/v1' });
  await app.register(tasksRoutes(deps), { prefix: '/v1' });
  await app.register(automationsRoutes(deps), { prefix: '/v1' });
  await app.register(jobsRoutes(deps), { prefix: '/v1' });
  await app.register(listCheckRoutes(deps), { prefix: '/v1' });
  await app.register(sequencePreviewRoutes(deps), { prefix: '/v1' });
}

/** Routes outside `/v1` (unsubscribe pages, tracking): each declares its own auth in `config.auth`. */
export async function registerPublicRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  await app.register(unsubscribeRoutes(deps));
  await app.register(trackingRoutes(deps));
}
