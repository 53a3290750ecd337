import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageEvents } from '../../../src/db/schema/index';
import { progressTargets } from '../../../src/api/analytics/funnel';
import { changeStage } from '../../../src/timeline/stages';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

type FunnelStage = {
  key: string;
  entered: number;
  nextStage: string | null;
  reachedNext: number;
  conversionRate: number | null;
  medianSecondsInStage: number | null;
};

const T0 = Date.parse('2024-03-01T00:00:00Z');
const at = (hours: number) => new Date(T0 + hours * 3_600_000);
const HOUR = 3600;

describe('progress targets (pure)', () => {
  it('next stage skips lost stages; lost has none; skipping ahead counts as reaching', () => {
    const targets = progressTargets([
      { key: 'lead', kind: 'open' },
      { key: 'qualified', kind: 'open' },
      { key: 'won', kind: 'won' },
      { key: 'lost', kind: 'lost' },
      { key: 'retention', kind: 'won' },
    ]);
    expect(Object.fromEntries(targets)).toEqual({
      lead: { next: 'qualified', reach: ['qualified', 'won', 'retention'] },
      qualified: { next: 'won', reach: ['won', 'retention'] },
      won: { next: 'retention', reach: ['retention'] },
      lost: { next: null, reach: [] },
      retention: { next: null, reach: [] },
    });
    expect(progressTargets([])).toEqual(new Map());
  });
});

describe('funnel analytics on a hand-built history', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  const ids: Record<string, string> = {};

  /** Each lead's path as [stage, hour] pairs; the first pair is its creation. */
  const paths: Record<string, [string, number][]> = {
    L1: [
      ['lead', 0],
      ['qualified', 10],
      ['contacted', 30],
      ['proposal', 40],
      ['won', 100],
    ],
    L2: [
      ['lead', 2],
      ['qualified', 6],
      ['lost', 20],
    ],
    L3: [
      ['lead', 4],
      ['contacted', 8],
      ['lost', 50],
    ],
    L4: [['lead', 5]],
    L5: [
      ['lead', -48],
      ['qualified', 1],
      ['proposal', 3],
    ],
    L6: [
      ['lead', 200],
      ['qualified', 210],
    ],
  };

  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    for (const [name, path] of Object.entries(paths)) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/leads',
        headers: ws.auth,
        payload: { email: `${name.toLowerCase()}@example.com` },
      });
      const id = res.json<{ id: string }>().id;
      ids[name] = id;
      const [[, created = 0] = [], ...moves] = path;
      await engine.deps.db
        .update(stageEvents)
        .set({ at: at(created) })
        .where(and(eq(stageEvents.leadId, id), isNull(stageEvents.fromStage)));
      for (const [toStage, hour] of moves) {
        const change = await changeStage(engine.deps.db, {
          workspaceId: ws.id,
          leadId: id,
          toStage,
          source: 'api',
          at: at(hour),
        });
        expect(change.ok).toBe(true);
      }
    }
  });
  afterAll(() => engine.close());

  const funnel = async (auth: { authorization: string }, from: Date, to: Date) => {
    const res = await engine.app.inject({
      method: 'GET',
      url: `/v1/analytics/funnel?from=${from.toISOString()}&to=${to.toISOString()}`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    return Object.fromEntries(res.json<{ data: FunnelStage[] }>().data.map((s) => [s.key, s]));
  };

  it('counts entries in [from, to], conversion to the next stage and the median time in stage', async () => {
    const f = await funnel(ws.auth, at(0), at(60));
    // lead: entered by L1@0, L2@2, L3@4, L4@5 (L5 entered at -48, L6 at 200: outside).
    // Reached qualified or beyond: L1, L2, L3 (skipped to contacted) → 3 of 4.
    // Stays: L1 10h, L2 4h, L3 4h; L4 is still there → median(4, 4, 10) = 4h.
    expect(f.lead).toMatchObject({
      entered: 4,
      nextStage: 'qualified',
      reachedNext: 3,
      conversionRate: 3 / 4,
    });
    expect(f.lead?.medianSecondsInStage).toBeCloseTo(4 * HOUR, 3);
    // qualified: L1@10, L2@6, L5@1 → 3. Beyond: L1 (contacted), L5 (proposal); L2 was lost → 2 of 3.
    // Stays: L1 20h, L2 14h, L5 2h → median 14h.
    expect(f.qualified).toMatchObject({ entered: 3, nextStage: 'contacted', reachedNext: 2 });
    expect(f.qualified?.conversionRate).toBeCloseTo(2 / 3, 10);
    expect(f.qualified?.medianSecondsInStage).toBeCloseTo(14 * HOUR, 3);
    // contacted: L1@30, L3@8 → 2. L1 reached proposal, L3 was lost → 1 of 2. Stays 10h, 42h → median 26h.
    expect(f.contacted).toMatchObject({ entered: 2, reachedNext: 1, conversionRate: 0.5 });
    expect(f.contacted?.medianSecondsInStage).toBeCloseTo(26 * HOUR, 3);
    // proposal: L1@40, L5@3 → 2. L1 won at 100h (after `to`, still counts); L5 is still there.
    // Stays: L1 60h only → median 60h.
    expect(f.proposal).toMatchObject({ entered: 2, nextStage: 'won', reachedNext: 1, conversionRate: 0.5 });
    expect(f.proposal?.medianSecondsInStage).toBeCloseTo(60 * HOUR, 3);
    // won: L1 entered at 100h, outside the period.
    expect(f.won).toMatchObject({
      entered: 0,
      nextStage: 'retention',
      conversionRate: null,
      medianSecondsInStage: null,
    });
    // lost: L2@20, L3@50; no next stage, and nobody left it.
    expect(f.lost).toMatchObject({
      entered: 2,
      nextStage: null,
      reachedNext: 0,
      conversionRate: null,
      medianSecondsInStage: null,
    });
    expect(f.retention).toMatchObject({ entered: 0, nextStage: null });
  });

  it('includes both ends of the period', async () => {
    // Exactly [10h, 10h]: only L1 entering qualified.
    const f = await funnel(ws.auth, at(10), at(10));
    expect(f.qualified?.entered).toBe(1);
    expect(f.lead?.entered).toBe(0);
  });

  it('keeps the counts after a lead is erased (its stage history stays, anonymous)', async () => {
    const before = await funnel(ws.auth, at(0), at(60));
    const del = await engine.app.inject({ method: 'DELETE', url: `/v1/leads/${ids.L2}`, headers: ws.auth });
    expect(del.statusCode).toBe(204);
    expect(await funnel(ws.auth, at(0), at(60))).toEqual(before);
  });

  it('shows another workspace nothing of this one, and validates the period', async () => {
    const other = await createTestWorkspace(engine.app);
    const f = await funnel(other.auth, at(0), at(60));
    expect(Object.values(f).every((s) => s.entered === 0)).toBe(true);
    for (const query of [`from=${at(5).toISOString()}&to=${at(1).toISOString()}`, 'from=yesterday']) {
      const res = await engine.app.inject({
        method: 'GET',
        url: `/v1/analytics/funnel?${query}`,
        headers: ws.auth,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('querystring.from');
    }
  });
});
