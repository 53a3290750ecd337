import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, messages, stepRuns } from '../../src/db/schema/index';
import { waitFor } from '../helpers/engine';
import { signedPost } from '../webhooks/support';
import { account, runIdOf, settle } from './support/ledger';
import { report } from './support/summary';
import { type CadenceLead, type FaultWorld, startCadence, startFaultWorld } from './support/world';

const profileOf = (lead: CadenceLead) => `https://www.linkedin.com/in/fault-${lead.id}`;

/** A lead's reply as its mail client writes it, answering `inReplyTo`, with a fixed Message-ID. */
const rawReply = (lead: CadenceLead, inReplyTo: string) =>
  [
    `From: <${lead.email}>`,
    'To: sales@sender.test',
    'Subject: Re: Hello',
    `Message-ID: <reply-${lead.id}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Sounds good, call me on Tuesday.',
    '',
  ].join('\r\n');

describe('fault 6: inbound webhooks replayed and out of order', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  const post = (path: 'email/raw' | 'linkedin', body: unknown, id?: string) =>
    signedPost(world.engine, world.ws, path, body, id ? { id } : {});
  const statuses = (responses: { json(): { status: string } }[]) =>
    responses.map((r) => r.json().status).sort();
  /** Ten deliveries of one message: one acts, nine are recognised as repeats. */
  const onceOfTen = [...Array(9).fill('duplicate'), 'matched'];
  const tenTimes = <T>(send: (i: number) => Promise<T>) =>
    Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));

  it('one reply delivered 10 times acts once; a reply ahead of its message and repeated acceptances too', async (context) => {
    await world.startWorker();
    // Waits long enough that every reply below commits before the second step falls due.
    const cadence = await startCadence(world, 20, { waitSeconds: 8 });
    for (const lead of cadence.leads)
      await world.engine.deps.db
        .update(leads)
        .set({ linkedinUrl: profileOf(lead) })
        .where(eq(leads.id, lead.id));
    const firstIdOf = new Map<string, string>();
    await waitFor(
      async () => {
        for (const mail of world.sink.received) {
          const to = mail.envelopeTo[0] ?? '';
          if (!firstIdOf.has(to) && mail.parsed.messageId) firstIdOf.set(to, mail.parsed.messageId);
        }
        if (firstIdOf.size < 20) return false;
        // Recorded too: this scenario is about repeats, fault 7 about replies racing a send.
        const sent = await world.engine.deps.db
          .select({ id: stepRuns.id })
          .from(stepRuns)
          .where(
            and(
              inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
              eq(stepRuns.stepId, 'first'),
              eq(stepRuns.status, 'sent'),
            ),
          );
        return sent.length === 20;
      },
      { timeoutMs: 60_000, what: 'the first email to each lead, sent and recorded' },
    );
    const [sameId, aheadOfSend, accepted, linkedinReply] = [0, 5, 10, 15].map((i) =>
      cadence.leads.slice(i, i + 5),
    );
    const secondRunOf = async (lead: CadenceLead) => {
      const [run] = await world.engine.deps.db
        .select({ id: stepRuns.id })
        .from(stepRuns)
        .where(and(eq(stepRuns.enrollmentId, lead.enrollmentId), eq(stepRuns.stepId, 'second')));
      return `<${run?.id ?? 'none'}@sender.test>`;
    };

    await Promise.all([
      // The same webhook id and body, 10 times at once, then the same email under 3 new ids.
      ...(sameId ?? []).map(async (lead) => {
        const body = rawReply(lead, firstIdOf.get(lead.email) ?? '');
        const id = `msg_${randomUUID()}`;
        expect(statuses(await tenTimes(() => post('email/raw', body, id)))).toEqual(onceOfTen);
        for (let i = 0; i < 3; i++) expect((await post('email/raw', body)).json().status).toBe('duplicate');
      }),
      // A reply to the second email before it was sent (its Message-ID is known, its send is not).
      ...(aheadOfSend ?? []).map(async (lead) => {
        const body = rawReply(lead, await secondRunOf(lead));
        expect(statuses(await tenTimes(() => post('email/raw', body)))).toEqual(onceOfTen);
      }),
      // The acceptance of an invitation nobody sent (out of order), 10 times with new ids, 2 replays.
      ...(accepted ?? []).map(async (lead) => {
        const body = { type: 'invite_accepted', linkedinUrl: profileOf(lead) };
        const results = await tenTimes(() => post('linkedin', body));
        expect(results.every((r) => r.statusCode === 200)).toBe(true);
        const first = results[0]?.webhookId;
        for (let i = 0; i < 2; i++)
          expect((await post('linkedin', body, first)).json().status).toBe('duplicate');
      }),
      // A LinkedIn reply dated before our first email, one webhook id delivered 10 times.
      ...(linkedinReply ?? []).map(async (lead) => {
        const body = {
          type: 'reply',
          linkedinUrl: profileOf(lead),
          text: 'Yes',
          at: new Date(Date.now() - 3600_000).toISOString(),
        };
        const id = `msg_${randomUUID()}`;
        expect(statuses(await tenTimes(() => post('linkedin', body, id)))).toEqual(onceOfTen);
      }),
    ]);
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '6. webhooks ×10 and out of order, 20 leads');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    // 15 leads replied after the first email and got nothing more; 5 accepted and completed.
    expect(row).toMatchObject({ sent: 15 + 15, stopped: 30, ambiguous: 0 });
    const db = world.engine.deps.db;
    const repliers = [...(sameId ?? []), ...(aheadOfSend ?? []), ...(linkedinReply ?? [])].map((l) => l.id);
    const acceptors = (accepted ?? []).map((l) => l.id);
    const eventsOf = async (type: string, ids: string[]) =>
      (
        await db
          .select({ leadId: events.leadId })
          .from(events)
          .where(and(eq(events.type, type), inArray(events.leadId, ids)))
      )
        .map((e) => e.leadId)
        .sort();
    expect(await eventsOf('lead.replied', repliers)).toEqual([...repliers].sort());
    expect(await eventsOf('linkedin.invite_accepted', acceptors)).toEqual([...acceptors].sort());
    const inbound = await db
      .select({ leadId: messages.leadId })
      .from(messages)
      .where(and(eq(messages.direction, 'inbound'), inArray(messages.leadId, repliers)));
    expect(inbound.map((m) => m.leadId).sort()).toEqual([...repliers].sort());
    const states = await db
      .select({ leadId: enrollments.leadId, status: enrollments.status })
      .from(enrollments)
      .where(inArray(enrollments.id, cadence.enrollmentIds));
    const statusOf = new Map(states.map((s) => [s.leadId, s.status]));
    expect(repliers.map((id) => statusOf.get(id))).toEqual(repliers.map(() => 'replied'));
    expect(acceptors.map((id) => statusOf.get(id))).toEqual(acceptors.map(() => 'completed'));
    // Nothing the sink got belongs to a run after a reply.
    expect(world.sink.received.filter((m) => !runIdOf(m.parsed.messageId))).toEqual([]);
  });
});
