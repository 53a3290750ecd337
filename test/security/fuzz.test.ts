import { afterAll, describe, expect, it } from 'vitest';
import { startTestEngine } from '../helpers/engine';
import { discoverV1Routes, routeName } from './support/api-routes';
import { createFingerprinter } from './support/db-fingerprint';
import { createTenant } from './support/fixtures';
import { fuzzRoute, RUNS_PER_ROUTE } from './support/fuzz-route';

// The routes come from the running app's OpenAPI document, so they are known before tests are
// declared and a route added later is fuzzed without anyone editing this file.
const engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: '10000000' } });
const routes = await discoverV1Routes(engine.app);
const fingerprint = await createFingerprinter(engine.deps.pool);

/** A failure prints its seed: `FUZZ_SEED=<seed> npx vitest run test/security/fuzz.test.ts -t '<route>'`. */
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

/** Answers per status class, per route: the summary printed at the end. */
const summary = new Map<string, Record<string, number>>();

describe(`fuzzing every /v1 route (${RUNS_PER_ROUTE} generated requests each)`, () => {
  afterAll(async () => {
    console.table(Object.fromEntries(summary));
    await engine.close();
  });

  it('finds the API in the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThan(50);
  });

  routes.forEach((route, i) => {
    it(routeName(route), async () => {
      // A tenant per route: a DELETE fuzzed earlier must not leave later routes without resources.
      const tenant = await createTenant(engine.app, `f${i}`, engine.deps.db);
      const { statuses } = await fuzzRoute({ app: engine.app, route, tenant, fingerprint, seed });
      const classes: Record<string, number> = { cases: 0, '2xx': 0, '4xx': 0, '5xx': 0 };
      for (const [status, count] of statuses) {
        const cls = `${Math.floor(status / 100)}xx`;
        classes[cls] = (classes[cls] ?? 0) + count;
        classes.cases = (classes.cases ?? 0) + count;
      }
      summary.set(routeName(route), classes);
      expect(classes.cases).toBe(RUNS_PER_ROUTE);
    });
  });
});
