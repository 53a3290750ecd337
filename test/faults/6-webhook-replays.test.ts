import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, messages, stepRuns } from '../../src/db/schema/index';
import { signedPost } from '../api/inbound-webhooks/support';
import { account, settle } from './support/ledger';
import { firstMessageIds, rawReply } from './support/replies';
import { report } from './support/summary';
import {
  type Cadence,
  type CadenceLead,
  type FaultWorld,
  startCadence,
  startFaultWorld,
} from './support/world';

const profileOf = (lead: CadenceLead) => `https://www.linkedin.com/in/fault-${lead.id}`;

type Post = (path: 'email/raw' | 'linkedin', body: unknown, id?: string) => Promise<Delivery>;
type Delivery = { statusCode: number; webhookId: string; json(): { status: string } };

/** Ten deliveries of one message at once: one acts, nine are recognised as repeats. */
const tenTimes = (send: () => Promise<Delivery>) => Promise.all(Array.from({ length: 10 }, send));
const statuses = (responses: Delivery[]) => responses.map((r) => r.json().status).sort();
const onceOfTen = [...Array(9).fill('duplicate'), 'matched'];

/** The Message-ID the second email will carry, known before it is sent. */
async function secondMessageId(world: FaultWorld, lead: CadenceLead): Promise<string> {
  const [run] = await world.engine.deps.db
    .select({ id: stepRuns.id })
    .from(stepRuns)
    .where(and(eq(stepRuns.enrollmentId, lead.enrollmentId), eq(stepRuns.stepId, 'second')));
  return `<${run?.id ?? 'none'}@sender.test>`;
}

/** The leads among `ids` with an event of `type`, once per event (sorted). */
async function withEvent(world: FaultWorld, type: string, ids: string[]): Promise<string[]> {
  const rows = await world.engine.deps.db
    .select({ leadId: events.leadId })
    .from(events)
    .where(and(eq(events.type, type), inArray(events.leadId, ids)));
  return rows.map((e) => e.leadId ?? '').sort();
}

describe('fault 6: inbound webhooks replayed and out of order', () => {
  let world: FaultWorld;
  let cadence: Cadence;
  let post: Post;
  beforeAll(async () => {
    world = await startFaultWorld();
    post = (path, body, id) => signedPost(world.engine, world.ws, path, body, id ? { id } : {});
    await world.startWorker();
    // Waits long enough that every reply below commits before the second step falls due.
    cadence = await startCadence(world, 20, { waitSeconds: 8 });
    for (const lead of cadence.leads)
      await world.engine.deps.db
        .update(leads)
        .set({ linkedinUrl: profileOf(lead) })
        .where(eq(leads.id, lead.id));
  });
  afterAll(() => world?.close());

  it('one reply delivered 10 times acts once; a reply ahead of its message and repeated acceptances too', async (context) => {
    // Recorded too: this scenario is about repeats; fault 7 is about replies racing a send.
    const firstIdOf = await firstMessageIds(world, cadence, { recorded: true });
    const group = (i: number) => cadence.leads.slice(i * 5, i * 5 + 5);
    const [sameId, aheadOfSend, accepted, linkedinReply] = [group(0), group(1), group(2), group(3)];
    await Promise.all([
      // The same webhook id and body, 10 times at once, then the same email under 3 new ids.
      ...sameId.map(async (lead) => {
        const body = rawReply(lead, firstIdOf.get(lead.email) ?? '');
        const id = `msg_${randomUUID()}`;
        expect(statuses(await tenTimes(() => post('email/raw', body, id)))).toEqual(onceOfTen);
        for (let i = 0; i < 3; i++) expect((await post('email/raw', body)).json().status).toBe('duplicate');
      }),
      // A reply to the second email before it was sent, 10 times under new ids.
      ...aheadOfSend.map(async (lead) => {
        const body = rawReply(lead, await secondMessageId(world, lead));
        expect(statuses(await tenTimes(() => post('email/raw', body)))).toEqual(onceOfTen);
      }),
      // The acceptance of an invitation nobody sent (out of order), 10 times with new ids, 2 replays.
      ...accepted.map(async (lead) => {
        const body = { type: 'invite_accepted', linkedinUrl: profileOf(lead) };
        const results = await tenTimes(() => post('linkedin', body));
        expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
        for (let i = 0; i < 2; i++)
          expect((await post('linkedin', body, results[0]?.webhookId)).json().status).toBe('duplicate');
      }),
      // A LinkedIn reply dated before our first email, one webhook id delivered 10 times.
      ...linkedinReply.map(async (lead) => {
        const at = new Date(Date.now() - 3600_000).toISOString();
        const body = { type: 'reply', linkedinUrl: profileOf(lead), text: 'Yes', at };
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
    const repliers = [...sameId, ...aheadOfSend, ...linkedinReply].map((l) => l.id).sort();
    const acceptors = accepted.map((l) => l.id).sort();
    expect(await withEvent(world, 'lead.replied', repliers)).toEqual(repliers);
    expect(await withEvent(world, 'linkedin.invite_accepted', acceptors)).toEqual(acceptors);
    const inbound = await world.engine.deps.db
      .select({ leadId: messages.leadId })
      .from(messages)
      .where(and(eq(messages.direction, 'inbound'), inArray(messages.leadId, repliers)));
    expect(inbound.map((m) => m.leadId).sort()).toEqual(repliers);
    const states = await world.engine.deps.db
      .select({ leadId: enrollments.leadId, status: enrollments.status })
      .from(enrollments)
      .where(inArray(enrollments.id, cadence.enrollmentIds));
    const statusOf = new Map(states.map((s) => [s.leadId, s.status]));
    expect(repliers.map((id) => statusOf.get(id))).toEqual(repliers.map(() => 'replied'));
    expect(acceptors.map((id) => statusOf.get(id))).toEqual(acceptors.map(() => 'completed'));
  });
});
