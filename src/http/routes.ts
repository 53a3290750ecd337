import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context';
import { workspacesRoutes } from '../modules/workspaces/workspaces.routes';

/** Every `/v1` resource module; each registers its own routes under the prefix. */
export async function registerV1Routes(app: FastifyInstance, deps: Deps): Promise<void> {
  await app.register(workspacesRoutes(deps), { prefix: '/v1' });
}

/** Routes outside `/v1` (unsubscribe pages, tracking): each declares its own auth in `config.auth`. */
export async function registerPublicRoutes(_app: FastifyInstance, _deps: Deps): Promise<void> {}
