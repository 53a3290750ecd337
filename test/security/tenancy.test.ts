import { randomBytes } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestEngine } from '../helpers/engine';
import { signedPost } from '../api/inbound-webhooks/support';
import { type ApiRoute, discoverV1Routes, fillPath, routeName } from './support/api-routes';
import { createFingerprinter } from './support/db-fingerprint';
import { createTenant, resourceOf, type Tenant } from './support/fixtures';

// Routes come from the app's OpenAPI document, so a new route is checked without editing this file.
const engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
const routes = await discoverV1Routes(engine.app);
const fingerprint = await createFingerprinter(engine.deps.pool);

/**
 * A body each resource route accepts, so that its answer to another tenant's id is about the id
 * and not a 400. A new route with a body fails the test below until it gets one here.
 */
const validBodies: Record<string, (own: Tenant) => object> = {
  'PATCH /v1/mailboxes/{id}': () => ({ name: 'renamed' }),
  'PUT /v1/sequences/{id}': () => ({ steps: [{ type: 'task', title: 'call them' }] }),
  'POST /v1/sequences/{id}/enrollments': (own) => ({ leadIds: [own.ids.leads] }),
  'POST /v1/step-runs/{id}/resolve': () => ({ outcome: 'skipped' }),
  'PATCH /v1/linkedin-accounts/{id}': () => ({ name: 'renamed' }),
  'PATCH /v1/leads/{id}': () => ({ firstName: 'Mallory' }),
  'POST /v1/leads/{id}/notes': () => ({ body: 'b was here' }),
  'POST /v1/leads/{id}/stage': () => ({ stage: 'won' }),
  'PATCH /v1/leads/{leadId}/notes/{noteId}': () => ({ body: 'b edited this' }),
  'PATCH /v1/tasks/{id}': () => ({ done: true }),
  'PATCH /v1/automations/{id}': () => ({ enabled: false }),
  'POST /v1/sequences/{id}/clone': () => ({}),
  // The PUT above (earlier in route order) gave B's own sequence its version 2.
  'POST /v1/sequences/{id}/migrate': () => ({ fromVersion: 1, toVersion: 2 }),
  'PATCH /v1/webhook-endpoints/{id}': () => ({ description: 'b was here' }),
  'POST /v1/webhook-endpoints/{id}/rotate-secret': () => ({ overlapHours: 1 }),
  // Version 1: the PUT above made `s1` a task in version 2, and the migrate moved the lead there.
  'POST /v1/sequences/{id}/simulate': (own) => ({ leadIds: [own.ids.leads] }),
  'POST /v1/sequences/{id}/preview': (own) => ({ leadId: own.ids.leads, stepId: 's1', version: 1 }),
  'POST /v1/sequences/{id}/test-send': (own) => ({
    leadId: own.ids.leads,
    stepId: 's1',
    to: 'me@example.test',
    version: 1,
  }),
};

const isResourceRoute = (r: ApiRoute) =>
  r.pathParams.length > 0 &&
  r.pathParams.every((p) => resourceOf(r.path, p.name) !== null && p.name !== 'workspaceId');

/** The route's URL with every path parameter naming `owner`'s resource. */
function urlFor(route: ApiRoute, owner: Tenant): string {
  const values = Object.fromEntries(
    route.pathParams.map((p) => {
      const kind = resourceOf(route.path, p.name);
      return [p.name, kind && kind !== 'workspace' ? owner.ids[kind] : owner.id];
    }),
  );
  return fillPath(route.path, values);
}

/** Every value that identifies one of the tenant's rows or personal data. */
const markersOf = (t: Tenant) => [t.id, t.leadEmail, t.suppressedDomain, ...Object.values(t.ids)];

describe('tenancy: a key of workspace B against workspace A', () => {
  // Each test gets its own pair: the first one deletes B's resources on purpose.
  let a: Tenant;
  let b: Tenant;
  beforeEach(async () => {
    const tag = randomBytes(3).toString('hex');
    a = await createTenant(engine.app, `a${tag}`, engine.deps.db);
    b = await createTenant(engine.app, `b${tag}`, engine.deps.db);
  });
  afterAll(() => engine.close());

  const as = (t: Tenant, route: ApiRoute, url: string) => {
    const body = validBodies[routeName(route)]?.(t);
    return engine.app.inject({
      method: route.method,
      url,
      headers: t.auth,
      ...(body ? { payload: body } : {}),
    });
  };

  it("answers 404 on every resource route given A's ids, writes nothing, and finds B's own", async () => {
    // Deletions last, so B's own resources still exist for the other routes' control requests;
    // among them, sub-resources (a lead's note) before what holds them (the lead).
    const deletion = (r: ApiRoute) => (r.method === 'DELETE' ? 100 - r.pathParams.length : 0);
    const resourceRoutes = routes.filter(isResourceRoute).sort((x, y) => deletion(x) - deletion(y));
    expect(resourceRoutes.length).toBeGreaterThan(25);
    for (const route of resourceRoutes) {
      const name = routeName(route);
      if (route.body) expect(validBodies[name], `add a valid body for ${name} to validBodies`).toBeDefined();
      const before = await fingerprint();
      const foreign = await as(b, route, urlFor(route, a));
      expect(foreign.statusCode, `${name} on A's ids: ${foreign.body}`).toBe(404);
      expect(foreign.json().error.code).toBe('not_found');
      expect(await fingerprint(), `${name} wrote something`).toEqual(before);
      // Control: the same request on B's own resource is not a 404, so the 404 above is tenancy.
      const own = await as(b, route, urlFor(route, b));
      expect([404, 400], `${name} on B's own ids: ${own.body}`).not.toContain(own.statusCode);
      expect(own.statusCode, `${name} on B's own ids: ${own.body}`).toBeLessThan(500);
    }
    const stillA = await engine.app.inject({ method: 'GET', url: '/v1/workspace', headers: a.auth });
    expect(stillA.statusCode).toBe(200);
  });

  it("never shows A's rows in B's lists and reads, which do show B's own", async () => {
    const seen: string[] = [];
    for (const route of routes.filter((r) => r.method === 'GET' && !r.admin)) {
      for (const query of requiredQueries(route)) {
        const url = `${urlFor(route, b)}${query}`;
        const res = await engine.app.inject({ method: 'GET', url, headers: b.auth });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        for (const marker of markersOf(a)) expect(res.body, `${url} leaks ${marker}`).not.toContain(marker);
        seen.push(res.body);
      }
    }
    const searches = [`/v1/leads?q=${encodeURIComponent(a.leadEmail)}`, '/v1/leads?stage=lead'];
    for (const url of searches) {
      const res = await engine.app.inject({ method: 'GET', url, headers: b.auth });
      for (const marker of markersOf(a)) expect(res.body, `${url} leaks ${marker}`).not.toContain(marker);
    }
    // The responses carry real rows: each of B's resources shows up somewhere.
    const all = seen.join('\n');
    for (const [kind, id] of Object.entries(b.ids))
      expect(all, `B's ${kind} is listed nowhere`).toContain(id);
  });

  it("cannot reach A's rows through ids in bodies, queries or webhook paths", async () => {
    const before = await fingerprint();
    const bSequence = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${b.ids.sequences}/enrollments`,
      headers: b.auth,
      payload: { leadIds: [a.ids.leads] },
    });
    expect(bSequence.json()).toMatchObject({ enrolled: [], skipped: [{ leadId: a.ids.leads }] });
    const reply = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      headers: b.auth,
      payload: { leadId: a.ids.leads, channel: 'email', text: 'stop' },
    });
    expect(reply.statusCode).toBe(404);
    const byEmail = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      headers: b.auth,
      payload: { email: a.leadEmail, channel: 'email', text: 'stop' },
    });
    expect(byEmail.statusCode).toBe(404);
    const unsuppress = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/suppressions?domain=${a.suppressedDomain}`,
      headers: b.auth,
    });
    expect(unsuppress.statusCode).toBe(404);
    // B's secret does not sign for A's workspace: 401, as for an unknown workspace.
    const webhook = await signedPost(engine, { id: a.id, webhookSecret: b.webhookSecret }, 'email', {
      from: a.leadEmail,
      to: ['sales@example.test'],
      text: 'please stop',
    });
    expect(webhook.statusCode).toBe(401);
    expect(await fingerprint()).toEqual(before);
    const enrollment = await engine.app.inject({
      method: 'GET',
      url: `/v1/enrollments/${a.ids.enrollments}`,
      headers: a.auth,
    });
    expect(enrollment.json()).toMatchObject({ status: 'active' });
  });
});

/** Query strings a GET route needs: one per value of each required enum parameter, else none. */
function requiredQueries(route: ApiRoute): string[] {
  const required = route.queryParams.filter((p) => p.required);
  if (required.length === 0) return [''];
  return required.flatMap((p) =>
    (p.schema.enum ?? []).map((v) => `?${p.name}=${encodeURIComponent(String(v))}`),
  );
}
