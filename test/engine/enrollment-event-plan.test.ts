import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events } from '../../src/db/schema/index';
import { enrollmentEvent } from '../../src/engine/internal-steps';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { plannedScans } from '../helpers/plans';

/**
 * A branch step reads its enrollment's history through `events_enrollment_idx`. The index leaves
 * out lead-level events (no enrollment: lead.created, replies, opens), which are most rows after a
 * bulk import; the branch's lookup must still be one the partial index answers.
 */
describe('branch history lookups', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  const enrollmentIds = Array.from({ length: 300 }, () => randomUUID());
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    const db = engine.deps.db;
    const [lead] = await insertLeads(db, ws.id, 1);
    const leadLevel = Array.from({ length: 3000 }, () => ({
      workspaceId: ws.id,
      leadId: lead?.id,
      type: 'lead.created',
    }));
    const perEnrollment = enrollmentIds.flatMap((enrollmentId) =>
      ['message.sent', 'email.opened'].map((type) => ({
        workspaceId: ws.id,
        leadId: lead?.id,
        enrollmentId,
        type,
      })),
    );
    const rows = [...leadLevel, ...perEnrollment];
    for (let i = 0; i < rows.length; i += 1000) await db.insert(events).values(rows.slice(i, i + 1000));
    await engine.deps.pool.query('analyze events');
  });
  afterAll(() => engine.close());

  it('finds an enrollment event through the enrollment index', async () => {
    const query = enrollmentEvent(engine.deps.db, enrollmentIds[7] ?? '', ['email.opened']);
    expect(await plannedScans(engine.deps.pool, query)).toEqual(['events_enrollment_idx']);
    expect(await query).toHaveLength(1);
    expect(await enrollmentEvent(engine.deps.db, randomUUID(), ['email.opened'])).toHaveLength(0);
  });
});
