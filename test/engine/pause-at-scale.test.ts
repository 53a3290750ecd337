import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { createActiveSequence } from '../helpers/sequences';

const LIVE = 70_000;

/**
 * Pausing a sequence is what a user does when something is wrong, often on the biggest one. A
 * statement takes at most 65,535 parameters, so the pause and the resume must not send one per
 * enrollment.
 */
describe('pausing a sequence with more live enrollments than a statement has parameters', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let sequenceId: string;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'wait', days: 3 },
        { type: 'task', title: 'Call them' },
      ],
    });
    // Set-up straight in SQL (70,000 enrolled leads through the API would take minutes): each
    // enrollment waits for its task, due at a time of its own three days out.
    await engine.deps.pool.query(
      `with l as (
         insert into leads (workspace_id, email, email_key)
         select $1, 'lead' || g || '@scale.test', 'lead' || g || '@scale.test' from generate_series(1, $3::int) g
         returning id
       )
       , e as (
         insert into enrollments (workspace_id, sequence_id, version, lead_id, current_step_id, next_run_at)
         select $1, $2, 1, id, 's2', now() + interval '3 days' + make_interval(secs => row_number() over ())
         from l
         returning id, next_run_at
       )
       insert into step_runs (workspace_id, enrollment_id, step_id, step_index, step_type, run_at, due_at)
       select $1, id, 's2', 1, 'task', next_run_at, next_run_at from e`,
      [ws.id, sequenceId, LIVE],
    );
  }, 240_000);
  afterAll(() => engine.close());

  const count = async (status: string) => {
    const { rows } = await engine.deps.pool.query<{ n: string }>(
      'select count(*) as n from enrollments where sequence_id = $1 and status = $2',
      [sequenceId, status],
    );
    return Number(rows[0]?.n);
  };

  it('pauses all of them, then resumes all of them', async () => {
    const paused = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/pause`,
      headers: ws.auth,
    });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(await count('paused')).toBe(LIVE);

    const resumed = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/activate`,
      headers: ws.auth,
    });
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(await count('active')).toBe(LIVE);
    // Each enrollment is due when its own pending run is.
    const due = await engine.deps.pool.query<{ n: string }>(
      `select count(*) as n from enrollments e join step_runs r on r.enrollment_id = e.id
       where e.sequence_id = $1 and r.status = 'scheduled' and e.next_run_at = r.run_at`,
      [sequenceId],
    );
    expect(Number(due.rows[0]?.n)).toBe(LIVE);
    // Each enrollment's timeline says so, once each way.
    const { rows } = await engine.deps.pool.query<{ type: string; n: string; total: string }>(
      `select type, count(distinct enrollment_id) as n, count(*) as total from events
       where workspace_id = $1 and type in ('enrollment.paused', 'enrollment.resumed') group by type order by type`,
      [ws.id],
    );
    expect(rows).toEqual([
      { type: 'enrollment.paused', n: String(LIVE), total: String(LIVE) },
      { type: 'enrollment.resumed', n: String(LIVE), total: String(LIVE) },
    ]);
  }, 240_000); // 70,000 enrollments paused and resumed: about a minute alone, more beside other suites
});
