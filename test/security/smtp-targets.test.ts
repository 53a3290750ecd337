import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email/email.channel';
import { mailboxes, stepRuns } from '../../src/db/schema/index';
import type { Channel } from '../../src/engine/channel';
import { BLOCKED_TARGET } from '../../src/lib/outbound-targets';
import { channelMap } from '../helpers/channels';
import {
  bringRunsDue,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { startWireSink, type WireSink } from './support/wire-sink';

type StepRun = { id: string; status: string; attempts: number; reason: string | null };

/** The real email channel, created on first use: it needs the engine's deps. */
function lazyEmailChannel(): Channel {
  let email: EmailChannel | null = null;
  return {
    stepTypes: ['email'],
    send: (ctx) => {
      email ??= createEmailChannel(ctx.deps);
      return email.send(ctx);
    },
    close: async () => email?.close(),
  };
}

const fast = { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '5' };
const privateHosts = ['127.0.0.1', 'localhost', 'LocalHost.', '2130706433', '0x7f000001', '127.1'];
const morePrivateHosts = [
  '017700000001',
  '[::ffff:127.0.0.1]',
  '::1',
  '0.0.0.0',
  '169.254.169.254',
  'fd00::1',
];

/**
 * Mail servers through the API and a running engine. `closed` allows no private address, `open`
 * allows the sink's address and port only. The sink offers no STARTTLS and would take a password
 * in clear; a proxy in front of it keeps every byte the engine sends.
 */
describe('mail servers: private addresses and TLS', () => {
  let sink: WireSink;
  let closed: TestEngine;
  let open: TestEngine;
  beforeAll(async () => {
    sink = await startWireSink();
    closed = await startTestEngine({
      workers: true,
      env: { ...fast, ALLOWED_PRIVATE_TARGETS: '' },
      channels: channelMap(lazyEmailChannel()),
    });
    open = await startTestEngine({
      workers: true,
      env: { ...fast, ALLOWED_PRIVATE_TARGETS: `127.0.0.1:${sink.port}` },
      channels: channelMap(lazyEmailChannel()),
    });
  });
  afterAll(async () => {
    await Promise.all([closed.close(), open.close()]);
    await sink.close();
  });

  const call = (
    engine: TestEngine,
    ws: TestWorkspace,
    method: 'POST' | 'PATCH' | 'GET',
    url: string,
    payload?: object,
  ) => engine.app.inject({ method, url, headers: ws.auth, ...(payload ? { payload } : {}) });
  const mailbox = (smtp: Record<string, unknown>) => ({
    name: 'Sales',
    fromEmail: 'sales@sender.test',
    smtp,
    minIntervalSeconds: 0,
  });

  /** One lead enrolled in a one-email sequence; returns its step run's id. */
  async function sendOne(engine: TestEngine, ws: TestWorkspace): Promise<string> {
    const lead = await call(engine, ws, 'POST', '/v1/leads', {
      email: `lead-${randomBytes(4).toString('hex')}@x.test`,
    });
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hello', body: 'Hi there' }],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [lead.json().id]);
    const enrollment = await call(engine, ws, 'GET', `/v1/enrollments/${enrolled[0]?.enrollmentId}`);
    return enrollment.json().stepRuns[0].id;
  }
  const runOf = async (engine: TestEngine, runId: string): Promise<StepRun | undefined> => {
    const [row] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, runId));
    return row;
  };

  it('refuses a private smtp.host in any spelling at the API, on create and on update', async () => {
    const ws = await createTestWorkspace(closed.app);
    for (const host of [...privateHosts, ...morePrivateHosts]) {
      const res = await call(closed, ws, 'POST', '/v1/mailboxes', mailbox({ host, port: 25 }));
      expect(res.statusCode, host).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'private_address',
        details: [{ path: 'body.smtp.host' }],
      });
    }
    const created = await call(
      closed,
      ws,
      'POST',
      '/v1/mailboxes',
      mailbox({ host: 'smtp.example.com', port: 587 }),
    );
    expect(created.statusCode).toBe(201);
    const patched = await call(closed, ws, 'PATCH', `/v1/mailboxes/${created.json().id}`, {
      smtp: { host: '0x7f000001' },
    });
    expect(patched.statusCode).toBe(400);
    // The allow-list names a port: the same address on another one is refused, also by a new port alone.
    const other = await createTestWorkspace(open.app);
    const allowed = await call(
      open,
      other,
      'POST',
      '/v1/mailboxes',
      mailbox({ host: '127.0.0.1', port: sink.port }),
    );
    expect(allowed.statusCode).toBe(201);
    const moved = await call(open, other, 'PATCH', `/v1/mailboxes/${allowed.json().id}`, {
      smtp: { port: 6379 },
    });
    expect(moved.statusCode).toBe(400);
  });

  it('fails the step at once with "blocked: private address", never connecting, when the host is private', async () => {
    const before = sink.connections();
    const started = Date.now();
    const runs: string[] = [];
    // Rows the API no longer accepts: written before this check, or a name whose DNS answer changed.
    for (const host of ['127.0.0.1', 'localhost']) {
      const ws = await createTestWorkspace(closed.app);
      const box = await call(
        closed,
        ws,
        'POST',
        '/v1/mailboxes',
        mailbox({ host: 'smtp.example.com', port: sink.port, tls: 'none' }),
      );
      await closed.deps.db
        .update(mailboxes)
        .set({ smtpHost: host, updatedAt: new Date() })
        .where(eq(mailboxes.id, box.json().id));
      runs.push(await sendOne(closed, ws));
    }
    for (const runId of runs) {
      const run = await waitFor(async () => {
        const r = await runOf(closed, runId);
        return r?.status === 'failed' ? r : null;
      });
      expect(run).toMatchObject({ attempts: 1, reason: BLOCKED_TARGET });
    }
    // Well under the 30 s a connection attempt may take, and nothing reached the server.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(sink.connections()).toBe(before);
  });

  it('sends to a private address that ALLOWED_PRIVATE_TARGETS allows', async () => {
    const ws = await createTestWorkspace(open.app);
    const accepted = sink.accepted();
    await call(
      open,
      ws,
      'POST',
      '/v1/mailboxes',
      mailbox({ host: '127.0.0.1', port: sink.port, tls: 'none' }),
    );
    const runId = await sendOne(open, ws);
    await waitFor(async () => (await runOf(open, runId))?.status === 'sent', { what: 'the email sent' });
    expect(sink.accepted()).toBe(accepted + 1);
  });

  it('never authenticates or sends without TLS unless the mailbox says tls "none"', async () => {
    const ws = await createTestWorkspace(open.app);
    const user = `tls-user-${randomBytes(3).toString('hex')}`;
    const pass = `tls-pass-${randomBytes(6).toString('hex')}`;
    const box = await call(
      open,
      ws,
      'POST',
      '/v1/mailboxes',
      mailbox({ host: '127.0.0.1', port: sink.port, user, pass }),
    );
    expect(box.json().smtp.tls).toBe('required');
    const from = sink.wire().length;
    const connections = sink.connections();
    const accepted = sink.accepted();
    const runId = await sendOne(open, ws);
    const refused = await waitFor(async () => {
      const r = await runOf(open, runId);
      return r && r.attempts >= 1 && r.reason ? r : null;
    });
    expect(refused.status).toBe('scheduled');
    expect(sink.connections()).toBeGreaterThan(connections);
    const wire = sink.wire().slice(from);
    const secrets = [
      pass,
      Buffer.from(pass).toString('base64'),
      Buffer.from(`\0${user}\0${pass}`).toString('base64'),
    ];
    expect(secrets.filter((s) => wire.includes(s))).toEqual([]);
    expect(wire).not.toMatch(/^AUTH /m);
    expect(sink.logins).not.toContain(user);
    expect(sink.accepted()).toBe(accepted);

    // Told it is a local sink, the engine authenticates in clear and sends: the capture sees that.
    const patched = await call(open, ws, 'PATCH', `/v1/mailboxes/${box.json().id}`, {
      smtp: { tls: 'none' },
    });
    expect(patched.json().smtp.tls).toBe('none');
    await bringRunsDue(open.deps.db, eq(stepRuns.id, runId));
    await waitFor(async () => (await runOf(open, runId))?.status === 'sent', { what: 'the email sent' });
    expect(sink.logins).toContain(user);
    expect(sink.accepted()).toBe(accepted + 1);
  });
});
