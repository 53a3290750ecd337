import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { ADMIN_TOKEN } from '../../helpers/engine';
import { type ApiRoute, fillPath } from './api-routes';
import { changedTables, type Fingerprint } from './db-fingerprint';
import { errorShapeProblem } from './error-shape';
import type { Tenant } from './fixtures';
import { type AuthMode, type FuzzRequest, fuzzRequestArbitrary } from './fuzz-case';

/** Cases per route: the issue asks for at least 200. */
export const RUNS_PER_ROUTE = 200;

/**
 * How a route authenticates, found by asking it: webhook routes are signed, an API key that gets
 * 401 where the admin token does not marks an admin route. Probed with random ids, so nothing of
 * the tenant is touched.
 */
export async function authModeOf(app: FastifyInstance, route: ApiRoute, tenant: Tenant): Promise<AuthMode> {
  if (route.pathParams.some((p) => p.name === 'workspaceId')) return 'signed';
  const url = fillPath(
    route.path,
    Object.fromEntries(route.pathParams.map((p) => [p.name, crypto.randomUUID()])),
  );
  const probe = (authorization: string) =>
    app.inject({ method: route.method, url, headers: { authorization } }).then((r) => r.statusCode);
  if ((await probe(tenant.auth.authorization)) !== 401) return 'key';
  if ((await probe(`Bearer ${ADMIN_TOKEN}`)) !== 401) return 'admin';
  throw new Error(`${route.method} ${route.path}: refused both the API key and the admin token`);
}

export type FuzzStats = { statuses: Map<number, number> };

/**
 * Sends RUNS_PER_ROUTE generated requests to one route and checks each answer: never a 5xx, every
 * 4xx in the error shape (validation failures with their paths), and no table changed by a
 * rejected request. Throws (with fast-check's counterexample) at the first broken case.
 */
export async function fuzzRoute(opts: {
  app: FastifyInstance;
  route: ApiRoute;
  tenant: Tenant;
  fingerprint: () => Promise<Fingerprint>;
  seed?: number;
}): Promise<FuzzStats> {
  const { app, route, tenant, fingerprint } = opts;
  const auth = await authModeOf(app, route, tenant);
  const statuses = new Map<number, number>();
  const arbitrary = fuzzRequestArbitrary({ route, tenant, auth, adminToken: ADMIN_TOKEN });
  // The state before the next request: refreshed only after an accepted one, since a rejected
  // request must have left it as it was (that is the check).
  let baseline: Fingerprint | null = null;
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (request) => {
      const before = baseline ?? (await fingerprint());
      const res = await app.inject(request);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      baseline = res.statusCode >= 400 ? before : null;
      const problem = await checkAnswer(res.statusCode, res.body, before, fingerprint);
      if (problem) throw new Error(`${describe(request)} → ${problem}`);
    }),
    { numRuns: RUNS_PER_ROUTE, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), endOnFailure: true },
  );
  // fast-check's own report prints the whole counterexample, megabytes for the huge-string cases.
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `case ${details.numRuns} failed (seed ${details.seed}, path ${details.counterexamplePath}): ${cause}`,
    );
  }
  return { statuses };
}

async function checkAnswer(
  status: number,
  body: string,
  before: Fingerprint,
  fingerprint: () => Promise<Fingerprint>,
): Promise<string | null> {
  if (status >= 500) return `status ${status}: ${body.slice(0, 300)}`;
  if (status < 400) return null;
  const shape = errorShapeProblem(status, body);
  if (shape) return shape;
  const changed = changedTables(before, await fingerprint());
  return changed.length > 0
    ? `rejected with ${status} but wrote to ${changed.join(', ')}: ${body.slice(0, 200)}`
    : null;
}

function describe(request: FuzzRequest): string {
  const payload = request.payload === undefined ? '' : ` ${JSON.stringify(request.payload.slice(0, 300))}`;
  return `${request.method} ${request.url.slice(0, 300)} [${request.headers['content-type'] ?? 'no content-type'}]${payload}`;
}
