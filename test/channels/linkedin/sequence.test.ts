import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkedInChannel } from '../../../src/channels/linkedin/linkedin.channel';
import { syncAccount } from '../../../src/channels/linkedin/sync';
import { enrollments, linkedinAccounts, stepRuns } from '../../../src/db/schema/index';
import { createChannels } from '../../../workers/channels';
import { type RunningWorkers, startWorkers } from '../../../workers/index';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  bringRunsDue,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { createActiveSequence, enrollLeads, type SequenceBody } from '../../helpers/sequences';
import { type LinkedInSite, startLinkedInSite } from '../../fixtures/linkedin-site/site';
import { addAccount, fastRuntime } from './support';

const DAY = 24 * 3600 * 1000;

describe('LinkedIn sequences on the engine (workers, Chromium, fixture site)', () => {
  let site: LinkedInSite;
  let engine: TestEngine;
  let workers: RunningWorkers;
  beforeAll(async () => {
    site = await startLinkedInSite();
    engine = await startTestEngine({
      env: { LINKEDIN_BASE_URL: site.url, MAINTENANCE_INTERVAL_SECONDS: '0.5' },
    });
    await fastRuntime(engine);
    // The product's channels, with LinkedIn's in place whether or not createChannels lists it yet.
    const channels = new Map(createChannels(engine.deps));
    const linkedin = createLinkedInChannel(engine.deps);
    for (const type of linkedin.stepTypes) channels.set(type, linkedin);
    workers = await startWorkers(engine.deps, { channels });
  });
  afterAll(async () => {
    await workers.close(10_000);
    await engine.close();
    await site.close();
  });

  const startSequence = async (ws: TestWorkspace, body: SequenceBody, leadIds: string[]) => {
    const id = await createActiveSequence(engine.app, ws, body);
    const { enrolled } = await enrollLeads(engine.app, ws, id, leadIds);
    expect(enrolled).toHaveLength(leadIds.length);
    return id;
  };
  const leadsOnSite = async (ws: TestWorkspace, count: number, prefix: string) => {
    const slugs = Array.from(
      { length: count },
      (_, i) => `${prefix}-${i}-${Math.random().toString(36).slice(2, 7)}`,
    );
    const rows = await insertLeads(engine.deps.db, ws.id, count, (i) => ({
      firstName: `Lee${i}`,
      linkedinUrl: site.addProfile(slugs[i] ?? ''),
    }));
    return rows.map((row, i) => ({ row, slug: slugs[i] ?? '' }));
  };
  const runsOf = (enrollmentIds: string[], stepId: string) =>
    engine.deps.db
      .select()
      .from(stepRuns)
      .where(and(inArray(stepRuns.enrollmentId, enrollmentIds), eq(stepRuns.stepId, stepId)));
  const enrollmentIdsOf = async (sequenceId: string) =>
    (await engine.deps.db.select().from(enrollments).where(eq(enrollments.sequenceId, sequenceId))).map(
      (e) => e.id,
    );

  it('visit → invite with a note → branch on connection → message, for 5 leads', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id: accountId } = await addAccount(engine, ws, site);
    const leads = await leadsOnSite(ws, 5, 'acc');
    const slugs = leads.map((l) => l.slug);
    const sequenceId = await startSequence(
      ws,
      {
        name: 'LinkedIn warm-up',
        steps: [
          { id: 'visit', type: 'linkedin_visit' },
          { id: 'invite', type: 'linkedin_invite', note: 'Hi {{ firstName }}, glad to connect.' },
          { type: 'wait', hours: 1 },
          { id: 'check', type: 'branch', if: { linkedinConnected: true }, then: 'msg', else: 'done' },
          { id: 'msg', type: 'linkedin_message', body: 'Thanks for connecting, {{ firstName }}!' },
          // The then path rejoins the else path explicitly (docs/decisions.md, issue 17).
          { type: 'goto', to: 'done' },
          { id: 'done', type: 'stage', stage: 'contacted' },
        ],
      },
      leads.map((l) => l.row.id),
    );
    const ids = await enrollmentIdsOf(sequenceId);
    // Every lead has been invited and now waits (an hour) in front of the branch.
    await waitFor(async () => (await runsOf(ids, 'check')).length === 5, {
      timeoutMs: 150_000,
      what: 'branch runs',
    });
    const mine = (list: string[]) => list.filter((s) => slugs.includes(s));
    expect(mine(site.received.visits).sort()).toEqual([...slugs].sort());
    const invites = site.received.invites.filter((i) => slugs.includes(i.slug));
    expect(invites.map((i) => i.note).sort()).toEqual(
      leads.map((_, i) => `Hi Lee${i}, glad to connect.`).sort(),
    );

    const accepted = slugs.slice(0, 3);
    for (const slug of accepted) site.markConnected(slug);
    const [account] = await engine.deps.db
      .select()
      .from(linkedinAccounts)
      .where(eq(linkedinAccounts.id, accountId));
    if (!account) throw new Error('account missing');
    await syncAccount(engine.deps, account);
    // The hour passes: bring the branch runs due, and the engine's feeder takes them from here.
    await bringRunsDue(
      engine.deps.db,
      and(inArray(stepRuns.enrollmentId, ids), eq(stepRuns.stepId, 'check')),
    );
    await waitFor(
      async () => {
        const rows = await engine.deps.db.select().from(enrollments).where(inArray(enrollments.id, ids));
        return rows.every((e) => e.status === 'completed');
      },
      { timeoutMs: 150_000, what: 'all enrollments completed' },
    );
    const sent = site.received.messages.filter((m) => slugs.includes(m.slug));
    expect(sent.map((m) => m.slug).sort()).toEqual([...accepted].sort());
    expect(new Set(sent.map((m) => m.text))).toEqual(
      new Set([
        'Thanks for connecting, Lee0!',
        'Thanks for connecting, Lee1!',
        'Thanks for connecting, Lee2!',
      ]),
    );
    const branches = await runsOf(ids, 'check');
    expect(branches.map((r) => r.result?.branch).sort()).toEqual(['else', 'else', 'then', 'then', 'then']);
    expect(await runsOf(ids, 'msg')).toHaveLength(3);
    // Nothing twice: exactly one visit and one invitation per lead.
    expect(mine(site.received.visits)).toHaveLength(5);
    expect(invites).toHaveLength(5);
  }, 180_000); // five leads through a real Chromium: minutes on a loaded CI box

  it('with 2 invitations a week, the 3rd is deferred a week: scheduled, not failed, not sent', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addAccount(engine, ws, site, { limits: { invitesPerWeek: 2 } });
    const leads = await leadsOnSite(ws, 3, 'lim');
    const sequenceId = await startSequence(
      ws,
      {
        name: 'Invite only',
        steps: [{ id: 'invite', type: 'linkedin_invite', note: 'Hello {{ firstName }}' }],
      },
      leads.map((l) => l.row.id),
    );
    const ids = await enrollmentIdsOf(sequenceId);
    const runs = await waitFor(
      async () => {
        const rows = await runsOf(ids, 'invite');
        const sent = rows.filter((r) => r.status === 'sent');
        const deferred = rows.filter((r) => r.status === 'scheduled' && r.reason === 'limit');
        return sent.length === 2 && deferred.length === 1 ? rows : null;
      },
      { timeoutMs: 60_000, what: 'two invitations sent and one deferred' },
    );
    const deferred = runs.find((r) => r.status === 'scheduled');
    expect(deferred?.runAt.getTime()).toBeGreaterThan(Date.now() + 6 * DAY);
    expect(runs.filter((r) => r.status === 'failed')).toEqual([]);
    const slugs = leads.map((l) => l.slug);
    expect(site.received.invites.filter((i) => slugs.includes(i.slug))).toHaveLength(2);
  });

  it('a checkpoint challenges the account and every step for it stays scheduled', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id: accountId } = await addAccount(engine, ws, site);
    const leads = await leadsOnSite(ws, 3, 'chk');
    site.checkpoint = true;
    try {
      const sequenceId = await startSequence(
        ws,
        { name: 'Visit', steps: [{ id: 'visit', type: 'linkedin_visit' }] },
        leads.map((l) => l.row.id),
      );
      const ids = await enrollmentIdsOf(sequenceId);
      const runs = await waitFor(
        async () => {
          const rows = await runsOf(ids, 'visit');
          return rows.length === 3 && rows.every((r) => r.status === 'scheduled' && r.reason !== null)
            ? rows
            : null;
        },
        { timeoutMs: 60_000, what: 'all visits deferred' },
      );
      // Steps that met the challenged account wait for it; one that looked for an account after the
      // challenge finds none usable. Either way it waits, scheduled.
      const reasons = runs.map((r) => r.reason);
      expect(reasons).toContain('account_challenged');
      for (const reason of reasons) expect(['account_challenged', 'no_linkedin_account']).toContain(reason);
      const [account] = await engine.deps.db
        .select()
        .from(linkedinAccounts)
        .where(eq(linkedinAccounts.id, accountId));
      expect(account).toMatchObject({ status: 'challenged', statusReason: 'checkpoint' });
      const rows = await engine.deps.db.select().from(enrollments).where(inArray(enrollments.id, ids));
      expect(rows.map((e) => e.status)).toEqual(['active', 'active', 'active']);
    } finally {
      site.checkpoint = false;
    }
    const slugs = leads.map((l) => l.slug);
    expect(site.received.visits.filter((s) => slugs.includes(s))).toEqual([]);
  });
});
