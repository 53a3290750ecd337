import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, inboundQueue, workspaces } from '../../../src/db/schema/index';
import { enqueueInbound } from '../../../src/engine/inbound/enqueue';
import { drainInboundQueue } from '../../../src/engine/inbound/queue';
import { StaleWebhookSecret } from '../../../src/engine/inbound/receipts';
import { handOffWhileAllowed } from '../../../src/engine/liveness';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../../helpers/engine';
import { enrolledLeads, signedPost } from './support';

const async = { headers: { prefer: 'respond-async' } };

/**
 * Issue 20: inbound mail acknowledged after one durable write (`Prefer: respond-async`) and applied
 * in the background, with the guarantee that a reply acknowledged before a hand-off prevents it.
 */
describe('inbound webhooks answered before they are applied', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const statusOf = async (id: string) =>
    (await engine.deps.db.select().from(enrollments).where(eq(enrollments.id, id)))[0]?.status;
  const activate = async (ws: { auth: Record<string, string> }, sequenceId: string) => {
    const res = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/activate`,
      headers: ws.auth,
    });
    expect(res.statusCode).toBe(200);
  };
  const queued = async (workspaceId: string) =>
    engine.deps.db.select().from(inboundQueue).where(eq(inboundQueue.workspaceId, workspaceId));

  it('answers 202 once stored, holds every hand-off of the workspace until applied, then applies it as the synchronous route would', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { leads, sequenceId } = await enrolledLeads(engine, ws, { count: 2 });
    await activate(ws, sequenceId);
    const [replier, other] = leads.map((l) => ({ ...l, enrollmentId: '' }));
    if (!replier || !other) throw new Error('no leads');
    for (const lead of [replier, other]) {
      const [row] = await engine.deps.db.select().from(enrollments).where(eq(enrollments.leadId, lead.id));
      lead.enrollmentId = row?.id ?? '';
    }

    const posted = await signedPost(
      engine,
      ws,
      'email',
      {
        from: replier.email,
        subject: 'Re: Quick question',
        text: 'Sounds good, call me.',
        inReplyTo: replier.messageId,
      },
      async,
    );
    expect(posted.statusCode).toBe(202);
    expect(posted.json()).toMatchObject({ status: 'accepted', leadId: null });
    expect(await queued(ws.id)).toHaveLength(1);
    // Nothing applied yet: the enrollment is still active.
    expect(await statusOf(replier.enrollmentId)).toBe('active');

    // A step about to hand off, for the replier or anyone else of the workspace, waits.
    let sent = 0;
    const send = async () => {
      sent += 1;
    };
    for (const lead of [replier, other]) {
      const handed = await handOffWhileAllowed(engine.deps, lead.enrollmentId, send);
      expect(handed).toMatchObject({ allowed: false, retryAt: expect.any(Date) });
    }
    expect(sent).toBe(0);
    // Another workspace is not held by this one's queue.
    const elsewhere = await createTestWorkspace(engine.app, 'Elsewhere');
    const elsewhereCadence = await enrolledLeads(engine, elsewhere, { count: 1 });
    await activate(elsewhere, elsewhereCadence.sequenceId);
    const [free] = elsewhereCadence.leads;
    const [freeEnrollment] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.leadId, free?.id ?? ''));
    expect(await handOffWhileAllowed(engine.deps, freeEnrollment?.id ?? '', send)).toMatchObject({
      allowed: true,
    });
    expect(sent).toBe(1);

    // Applied: the reply stops the replier's cadence; the other lead may go on.
    expect(await drainInboundQueue(engine.deps)).toBe(1);
    expect(await queued(ws.id)).toHaveLength(0);
    expect(await statusOf(replier.enrollmentId)).toBe('replied');
    expect(await handOffWhileAllowed(engine.deps, replier.enrollmentId, send)).toEqual({ allowed: false });
    expect(await handOffWhileAllowed(engine.deps, other.enrollmentId, send)).toMatchObject({ allowed: true });
    expect(sent).toBe(2);

    // The same webhook id again is a duplicate, acknowledged without a second row.
    const again = await signedPost(
      engine,
      ws,
      'email',
      {
        from: replier.email,
        subject: 'Re: Quick question',
        text: 'Sounds good, call me.',
        inReplyTo: replier.messageId,
      },
      { ...async, id: posted.webhookId },
    );
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'duplicate' });
    expect(await queued(ws.id)).toHaveLength(0);
  });

  it('takes raw MIME the same way, refuses a message with neither From nor Message-ID at once, and keeps a message that cannot be applied aside without holding sends', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { leads } = await enrolledLeads(engine, ws, { count: 1 });
    const [lead] = leads;
    if (!lead) throw new Error('no lead');
    const raw = [
      `From: ${lead.email}`,
      'To: sales@sender.test',
      'Subject: Re: Quick question',
      `In-Reply-To: ${lead.messageId}`,
      'Message-ID: <async-raw-1@lead.test>',
      '',
      'Not interested, thanks.',
      '',
    ].join('\r\n');
    const res = await signedPost(engine, ws, 'email/raw', Buffer.from(raw), async);
    expect(res.statusCode).toBe(202);
    const bad = await signedPost(engine, ws, 'email/raw', Buffer.from('Subject: hi\r\n\r\nbody'), async);
    expect(bad.statusCode).toBe(400);
    expect(await drainInboundQueue(engine.deps)).toBe(1);
    const [enrollment] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.leadId, lead.id));
    expect(enrollment?.status).toBe('replied');

    // A stored body that no longer reads (written by hand here) fails three times, then stays aside.
    await enqueueInbound(engine.deps.db, {
      workspaceId: ws.id,
      kind: 'email_json',
      body: Buffer.from('{"to":1}'),
    });
    await drainInboundQueue(engine.deps);
    const [poison] = await queued(ws.id);
    expect(poison).toMatchObject({ attempts: 3, lastError: expect.stringMatching(/from/i) });
    const pending = await engine.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from inbound_queue where workspace_id = ${ws.id} and attempts < 3`,
    );
    expect(pending.rows[0]?.n).toBe(0);
  });

  it('acknowledges concurrent requests in one transaction, each with its own outcome', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [secret] = await engine.deps.db
      .select({ sealed: workspaces.webhookSecretEnc })
      .from(workspaces)
      .where(eq(workspaces.id, ws.id));
    const sealed = secret?.sealed ?? '';
    const ack = (webhookId: string, sealedSecret = sealed) =>
      enqueueInbound(engine.deps.db, {
        workspaceId: ws.id,
        kind: 'email_json',
        body: Buffer.from(JSON.stringify({ from: `${webhookId}@lead.test`, text: 'Yes' })),
        receipt: { webhookId, sealedSecret },
      });
    const xmins = async () =>
      (
        await engine.deps.db.execute<{ xmin: string }>(
          sql`select xmin::text from inbound_queue where workspace_id = ${ws.id} order by id`,
        )
      ).rows.map((r) => r.xmin);

    // Handed in during one turn of the event loop: one statement, one commit for all three.
    expect(await Promise.all([ack('one'), ack('two'), ack('three')])).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    const first = await xmins();
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(1);

    // A webhook seen before, one sent twice at once, and one checked with a secret the workspace
    // no longer has: each gets its own answer, and only the new ones are stored (once).
    const outcomes = await Promise.allSettled([
      ack('four'),
      ack('one'),
      ack('five'),
      ack('five'),
      ack('six', 'not-the-sealed-secret'),
    ]);
    const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason));
    expect(values.slice(0, 2)).toEqual(['accepted', 'duplicate']);
    expect(values.slice(2, 4).sort()).toEqual(['accepted', 'duplicate']);
    expect(values[4]).toBeInstanceOf(StaleWebhookSecret);
    const bodies = await queued(ws.id);
    expect(bodies.map((r) => JSON.parse(r.body.toString('utf8')).from).sort()).toEqual(
      ['five', 'four', 'one', 'three', 'two'].map((id) => `${id}@lead.test`),
    );

    // A large body is acknowledged in a statement of its own, stored byte for byte.
    const large = Buffer.from(JSON.stringify({ from: 'large@lead.test', text: 'é'.repeat(100_000) }));
    expect(
      await enqueueInbound(engine.deps.db, {
        workspaceId: ws.id,
        kind: 'email_json',
        body: large,
        receipt: { webhookId: 'large', sealedSecret: sealed },
      }),
    ).toBe('accepted');
    expect((await queued(ws.id)).some((r) => r.body.equals(large))).toBe(true);
  });

  it('is applied by the workers on their own', async () => {
    const withWorkers = await startTestEngine({ workers: true });
    try {
      const ws = await createTestWorkspace(withWorkers.app);
      const { leads } = await enrolledLeads(withWorkers, ws, { count: 1 });
      const [lead] = leads;
      const res = await signedPost(
        withWorkers,
        ws,
        'email',
        {
          from: lead?.email ?? '',
          subject: 'Re: Quick question',
          text: 'Yes please',
          inReplyTo: lead?.messageId,
        },
        async,
      );
      expect(res.statusCode).toBe(202);
      await waitFor(
        async () => {
          const [row] = await withWorkers.deps.db
            .select()
            .from(enrollments)
            .where(eq(enrollments.leadId, lead?.id ?? ''));
          return row?.status === 'replied';
        },
        { what: 'the queued reply applied by a worker' },
      );
    } finally {
      await withWorkers.close();
    }
  });
});
