import { execFile } from 'node:child_process';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedinCheckCommand } from '../../../src/api/linkedin-accounts/linkedin-accounts.cli';
import { runLinkedInCanary } from '../../../src/channels/linkedin/canary';
import { configureLinkedInRuntime, runtimeFor } from '../../../src/channels/linkedin/runtime';
import { syncAccount } from '../../../src/channels/linkedin/sync';
import {
  events,
  linkedinAccounts,
  messages,
  stepRuns,
  webhookDeliveries,
} from '../../../src/db/schema/index';
import {
  bringRunsDue,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  testEnv,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';
import { type LinkedInSite, startLinkedInSite } from '../../fixtures/linkedin-site/site';
import { repoRoot } from '../../platform/support';
import { addAccount } from './support';

const MINUTE = 60_000;

/** `npm run cli -- linkedin:check …`, as an operator runs it (src/cli.ts under tsx). */
function linkedinCheck(engine: TestEngine, site: LinkedInSite, args: string[]) {
  const env = {
    ...process.env,
    ...testEnv({ DATABASE_URL: engine.config.DATABASE_URL, LINKEDIN_BASE_URL: site.url }),
    LOG_LEVEL: 'silent',
  };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'linkedin:check', ...args],
      { cwd: repoRoot, env },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/**
 * LinkedIn ships pages the page objects were not written for (the fixture's `unknown` layout): every
 * reader says so, the account stops with `layout_unrecognized`, the event and /metrics tell the
 * operator, and no step goes back to the page in a loop.
 */
describe('LinkedIn changed its pages', () => {
  let site: LinkedInSite;
  let engine: TestEngine;
  beforeAll(async () => {
    site = await startLinkedInSite('unknown');
    engine = await startTestEngine({
      workers: true,
      env: { LINKEDIN_BASE_URL: site.url, MAINTENANCE_INTERVAL_SECONDS: '1' },
    });
    // The unknown page is given 1.5 s to show a top card it never will.
    await configureLinkedInRuntime(engine.deps, {
      pacing: { minMs: 0, maxMs: 15 },
      timeoutMs: 1_500,
      lockWaitMs: 1_000,
    });
  });
  afterAll(async () => {
    await engine.close();
    await site.close();
  });

  const accountRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(linkedinAccounts).where(eq(linkedinAccounts.id, id));
    if (!row) throw new Error('account missing');
    return row;
  };
  const layoutEvents = (ws: TestWorkspace) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'linkedin.layout_unrecognized')));
  const metric = async (series: string) => {
    const body = (await engine.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = body.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? null : Number(line.slice(series.length + 1));
  };

  it('a step waits instead of retrying: the account stops, the event fires, /metrics counts it', async () => {
    site.layout = 'unknown';
    const ws = await createTestWorkspace(engine.app);
    const hook = await engine.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: ws.auth,
      payload: { url: 'http://127.0.0.1:9/hook', events: ['linkedin.layout_unrecognized'] },
    });
    expect(hook.statusCode).toBe(201);
    const account = await addAccount(engine, ws, site);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1, () => ({
      linkedinUrl: site.addProfile('changed-1'),
    }));
    if (!lead) throw new Error('lead missing');
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [{ id: 'visit', type: 'linkedin_visit' }],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    const visitRun = () =>
      engine.deps.db
        .select()
        .from(stepRuns)
        .where(and(eq(stepRuns.enrollmentId, enrollmentId), eq(stepRuns.stepId, 'visit')))
        .then((rows) => rows[0]);

    const waiting = await waitFor(
      async () => {
        const run = await visitRun();
        return run?.status === 'scheduled' && run.reason === 'layout_unrecognized' ? run : null;
      },
      { timeoutMs: 30_000, what: 'the visit to wait on an unrecognised layout' },
    );
    expect(waiting.runAt.getTime()).toBeGreaterThan(Date.now() + 14 * MINUTE);
    expect(await accountRow(account.id)).toMatchObject({
      status: 'layout_unrecognized',
      statusReason: 'profile.top_card',
      layoutUnrecognizedTotal: 1,
    });
    expect((await layoutEvents(ws)).map((e) => e.data)).toEqual([
      expect.objectContaining({ accountId: account.id, pageObject: 'profile.top_card' }),
    ]);
    const deliveries = await engine.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.workspaceId, ws.id));
    expect(deliveries.map((d) => d.eventType)).toEqual(['linkedin.layout_unrecognized']);
    const view = await engine.app.inject({
      method: 'GET',
      url: `/v1/linkedin-accounts/${account.id}`,
      headers: ws.auth,
    });
    expect(view.json()).toMatchObject({ status: 'layout_unrecognized', statusReason: 'profile.top_card' });
    expect(
      await metric(`outreach_linkedin_account_status{account="${account.id}",status="layout_unrecognized"}`),
    ).toBe(1);
    expect(await metric(`outreach_linkedin_layout_unrecognized_total{account="${account.id}"}`)).toBe(1);

    // Even run again at once, the step waits for a usable account without opening the page again
    // (the lead has no account of its own yet, and the only one is stopped).
    await bringRunsDue(engine.deps.db, eq(stepRuns.enrollmentId, enrollmentId));
    await waitFor(
      async () => {
        const run = await visitRun();
        return run?.status === 'scheduled' && run.reason === 'no_linkedin_account';
      },
      { timeoutMs: 30_000, what: 'the visit to wait for a usable account' },
    );
    expect(site.received.profileViews.filter((s) => s === 'changed-1')).toHaveLength(1);
    expect(await layoutEvents(ws)).toHaveLength(1);
  });

  it('the inbox and connections readers report the page, the sync stops the account, and no reply is lost', async () => {
    site.layout = 'unknown';
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const slug = 'changed-replier';
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1, () => ({
      linkedinUrl: site.addProfile(slug, { connection: 'connected' }),
    }));
    site.receiveMessage(slug, 'Yes, let us talk next week.');
    const read = await runtimeFor(engine.deps).withDriver(await accountRow(account.id), async (driver) => ({
      inbox: await driver.fetchNewMessages(),
      connections: await driver.recentConnections(),
    }));
    expect(read).toEqual({
      kind: 'done',
      value: {
        inbox: { ok: false, problem: 'layout_unrecognized', detail: 'messaging.conversation_list' },
        connections: { ok: false, problem: 'layout_unrecognized', detail: 'connections.list' },
      },
    });

    await syncAccount(engine.deps, await accountRow(account.id));
    expect(await accountRow(account.id)).toMatchObject({
      status: 'layout_unrecognized',
      statusReason: 'messaging.conversation_list',
    });
    expect(await layoutEvents(ws)).toHaveLength(1);
    const inbound = () =>
      engine.deps.db
        .select()
        .from(messages)
        .where(and(eq(messages.workspaceId, ws.id), eq(messages.direction, 'inbound')));
    expect(await inbound()).toEqual([]);

    // LinkedIn rolls back: the canary sees pages it knows and resumes the account; the reply,
    // still unread on LinkedIn, is read at the next pass.
    site.layout = '2026';
    await runLinkedInCanary(engine.deps);
    expect(await accountRow(account.id)).toMatchObject({ status: 'active', statusReason: null });
    await syncAccount(engine.deps, await accountRow(account.id));
    expect(await inbound()).toEqual([
      expect.objectContaining({ leadId: lead?.id, bodyText: 'Yes, let us talk next week.' }),
    ]);
    expect(site.unread(slug)).toBe(true);
  });

  it('the scheduled canary stops an account on pages it does not know, before any step meets them', async () => {
    site.layout = 'unknown';
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    await runLinkedInCanary(engine.deps);
    const stopped = await accountRow(account.id);
    expect(stopped).toMatchObject({ status: 'layout_unrecognized', statusReason: 'profile.top_card' });
    expect(stopped.layoutCheck).toMatchObject({
      recognised: false,
      unrecognised: [
        'profile.top_card',
        'profile.name',
        'profile.more',
        'messaging.conversation_list',
        'messaging.unread_label',
      ],
    });
    expect(await layoutEvents(ws)).toHaveLength(1);
    // Not due again yet: the canary leaves it alone.
    const views = site.received.acceptLanguage.length;
    await runLinkedInCanary(engine.deps);
    expect(site.received.acceptLanguage).toHaveLength(views);
    // Half an hour on, with LinkedIn's pages back, it looks again and resumes the account.
    site.layout = '2026';
    await runLinkedInCanary(engine.deps, new Date(Date.now() + 31 * MINUTE));
    expect(await accountRow(account.id)).toMatchObject({
      status: 'active',
      layoutCheck: { recognised: true },
    });
  });

  // Last: the command closes the process's LinkedIn runtime when done, as the CLI process ends.
  it('linkedin:check opens the own profile and the inbox, reports what it recognised, changes nothing', async () => {
    site.layout = '2026';
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    site.addProfile('canary-friend', { connection: 'connected' });
    site.receiveMessage('canary-friend', 'Still unread after the canary.');
    // The command the CLI runs, in this process: the real one pauses seconds between pages.
    expect(await linkedinCheckCommand(engine.deps, ['--account', account.id])).toEqual({
      account: { id: account.id, name: 'Sales', status: 'active' },
      ok: true,
      recognised: true,
      unrecognised: [],
      pages: [
        {
          page: 'own_profile',
          path: '/in/fixture-me/',
          recognised: { 'profile.top_card': true, 'profile.name': true, 'profile.more': true },
        },
        {
          page: 'inbox',
          path: '/messaging/',
          recognised: { 'messaging.conversation_list': true, 'messaging.unread_label': true },
        },
      ],
    });
    // Read-only: no profile of anyone else opened, nothing marked read, the account untouched.
    expect(site.received.profileViews.filter((s) => s.startsWith('canary'))).toEqual([]);
    expect(site.unread('canary-friend')).toBe(true);
    const [row] = await engine.deps.db
      .select()
      .from(linkedinAccounts)
      .where(eq(linkedinAccounts.id, account.id));
    expect(row).toMatchObject({ status: 'active', layoutCheck: null });
  });

  it('linkedin:check is a CLI command, and refuses what is not an account', async () => {
    const bad = await linkedinCheck(engine, site, ['--account', 'not-an-id']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--account: "not-an-id" is not an account id');
  });
});
