import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overdueRuns } from '../../src/engine/maintenance';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { plannedScans } from '../helpers/plans';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

/**
 * The reconciler looks for due runs that Redis may have lost on every pass, also during a 9:00
 * burst right after a bulk enrollment, when the statistics still describe an empty database. It
 * must find them from the due index, not by walking every active enrollment of the sequence.
 */
describe('overdue runs after a bulk enrollment', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let late: string[];
  beforeAll(async () => {
    engine = await startTestEngine();
    // Statistics stay as stale as right after a bulk enrollment: autovacuum may not analyse midway.
    for (const table of ['step_runs', 'enrollments', 'sequences'])
      await engine.deps.pool.query(`alter table ${table} set (autovacuum_enabled = false)`);
    ws = await createTestWorkspace(engine.app);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'wait', days: 2 },
        { type: 'task', title: 'Call' },
      ],
    });
    const leads = await insertLeads(engine.deps.db, ws.id, 3000);
    const { enrolled } = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      leads.map((l) => l.id),
    );
    expect(enrolled).toHaveLength(3000);
    // A backlog: every run fell due a minute ago and went to Redis, and none has run yet.
    const { rows } = await engine.deps.db.execute<{ id: string }>(sql`
      update step_runs set run_at = now() - interval '1 minute' - make_interval(secs => ord), enqueued_at = now()
      from (select id, row_number() over (order by id) as ord from step_runs) o
      where o.id = step_runs.id
      returning step_runs.id`);
    late = rows.map((r) => r.id);
  });
  afterAll(() => engine.close());

  it('finds the overdue runs, oldest first', async () => {
    const { rows } = await engine.deps.db.execute<{ id: string }>(overdueRuns(20, 5000));
    expect(rows).toHaveLength(3000);
    expect(rows.map((r) => r.id)).toEqual([...late].sort().reverse());
  });

  it('starts from the due index, not from the enrollments', async () => {
    const used = await plannedScans(engine.deps.pool, overdueRuns(20, 5000));
    expect(used).toContain('step_runs_due_idx');
    expect(used).not.toContain('enrollments_sequence_idx');
  });
});
