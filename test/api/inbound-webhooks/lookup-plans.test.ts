import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads, messages } from '../../../src/db/schema/index';
import { inboundByMessageId } from '../../../src/engine/inbound/ingest';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { plannedScans } from '../../helpers/plans';

/**
 * Every inbound email with a Message-ID first looks it up among the workspace's inbound messages, so
 * a provider re-posting it changes nothing. That lookup must go straight to its row: one that walks
 * the workspace's inbound mail costs each reply a millisecond per few thousand replies received.
 */
describe('inbound lookups on a busy workspace', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    const db = engine.deps.db;
    const [lead] = await db
      .insert(leads)
      .values({ workspaceId: ws.id, email: 'jane@lead.test', emailKey: 'jane@lead.test' })
      .returning({ id: leads.id });
    const rows = Array.from({ length: 3000 }, (_, i) => [
      {
        workspaceId: ws.id,
        leadId: lead?.id,
        direction: 'outbound' as const,
        channel: 'email' as const,
        messageId: `<out-${i}@sender.test>`,
        status: 'sent',
      },
      {
        workspaceId: ws.id,
        leadId: lead?.id,
        direction: 'inbound' as const,
        channel: 'email' as const,
        messageId: `<in-${i}@lead.test>`,
        status: 'matched',
      },
    ]).flat();
    for (let i = 0; i < rows.length; i += 1000) await db.insert(messages).values(rows.slice(i, i + 1000));
  });
  afterAll(() => engine.close());

  it('finds a re-posted inbound email by its own Message-ID index', async () => {
    // With statistics gathered: before, any index on inbound rows looks one row away.
    await engine.deps.pool.query('analyze messages');
    const used = await plannedScans(
      engine.deps.pool,
      inboundByMessageId(engine.deps.db, ws.id, '<in-1234@lead.test>'),
    );
    expect(used).toEqual(['messages_inbound_message_id_uq']);
  });
});
