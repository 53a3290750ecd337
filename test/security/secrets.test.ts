import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { messages } from '../../src/db/schema/index';
import { type LinkedInSite, startLinkedInSite } from '../fixtures/linkedin-site/site';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';
import { fastRuntime } from '../channels/linkedin/support';
import { signedPost, startReceiver } from '../api/inbound-webhooks/support';

const LogLine = z.object({ level: z.number() });

const tag = randomBytes(4).toString('hex');
/** Values that must never reach the logs; filled in as the flow creates them. */
const secrets: Record<string, string> = {
  smtpPass: `smtp-pass-${tag}-Zq9`,
  jsessionId: `ajax:${tag}0123456789`,
  unusedLiAt: `li-at-never-valid-${tag}`,
};
/** Message content, which stays out of logs at info level. */
const bodies = {
  emailBody: `EMAIL-BODY-${tag}`,
  replyText: `REPLY-TEXT-${tag}`,
  markedReply: `MARKED-REPLY-${tag}`,
  linkedinReply: `LINKEDIN-REPLY-${tag}`,
};

/**
 * A real flow (an SMTP mailbox with a password, LinkedIn accounts with cookies through Chromium and
 * the fixture site, a sequence email, inbound and marked replies, signed outbound webhooks) with the
 * engine logging at info level into memory; then the logs and the raw database rows are searched.
 */
describe('secrets and message bodies', () => {
  const lines: string[] = [];
  let engine: TestEngine;
  let sink: SmtpSink;
  let site: LinkedInSite;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let ws: TestWorkspace;

  beforeAll(async () => {
    sink = await startSmtpSink();
    site = await startLinkedInSite();
    receiver = await startReceiver();
    engine = await startTestEngine({
      workers: true,
      env: { LOG_LEVEL: 'info', LINKEDIN_BASE_URL: site.url, MAINTENANCE_INTERVAL_SECONDS: '0.3' },
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    await fastRuntime(engine);
    await runFlow();
  }, 90_000);
  afterAll(async () => {
    await engine.close();
    await Promise.all([sink.close(), site.close(), receiver.close()]);
  });

  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await engine.app.inject({ method, url, headers: ws.auth, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json<Record<string, unknown>>();
  };

  async function runFlow() {
    ws = await createTestWorkspace(engine.app, `secrets ${tag}`);
    Object.assign(secrets, { apiKey: ws.apiKey, webhookSecret: ws.webhookSecret, liAt: site.liAt });
    await addChannels();
    const { leadId, messageId } = await sendSequence();
    await receiveReplies(leadId, messageId);
    // An account whose cookie LinkedIn refuses: the failure path logs too.
    await call('POST', '/v1/linkedin-accounts', { name: 'Stale', liAt: secrets.unusedLiAt });
    await waitFor(async () => receiver.received.length >= 3, {
      timeoutMs: 30_000,
      what: 'outbound webhooks',
    });
  }

  async function addChannels() {
    await call('POST', '/v1/mailboxes', {
      name: 'Sales',
      fromEmail: 'sales@sender.test',
      smtp: { host: sink.host, port: sink.port, tls: 'none', user: `user-${tag}`, pass: secrets.smtpPass },
      minIntervalSeconds: 0,
    });
    await call('POST', '/v1/linkedin-accounts', {
      name: 'Cookies',
      cookies: [
        { name: 'li_at', value: site.liAt, domain: '.linkedin.com', path: '/' },
        { name: 'JSESSIONID', value: secrets.jsessionId, domain: '.linkedin.com', path: '/' },
      ],
    });
    const endpoint = await call('POST', '/v1/webhook-endpoints', { url: receiver.url, events: ['*'] });
    secrets.endpointSecret = String(endpoint.secret);
  }

  /** An email and a LinkedIn visit to one lead, and a bounce for another (its path logs a warning). */
  async function sendSequence() {
    const slug = `secret-lead-${tag}`;
    const lead = await call('POST', '/v1/leads', {
      email: `lead.${tag}@example.test`,
      firstName: 'Lee',
      linkedinUrl: site.addProfile(slug),
    });
    const bouncing = await call('POST', '/v1/leads', {
      email: `bounce.${tag}@example.test`,
      firstName: 'Bo',
      linkedinUrl: site.addProfile(`bounce-${tag}`),
    });
    sink.setBehaviour(({ envelopeTo }) =>
      envelopeTo.includes(`bounce.${tag}@example.test`) ? { code: 550, message: 'No such user' } : undefined,
    );
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Hello {{ firstName }}', body: `${bodies.emailBody} {{ firstName }}` },
        { type: 'linkedin_visit' },
        { type: 'wait', days: 3 },
        { type: 'email', subject: 'x', body: 'never sent: the reply stops it', thread: 'reply' },
      ],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [
      String(lead.id),
      String(bouncing.id),
    ]);
    const bounced = enrolled.find((e) => e.leadId === bouncing.id)?.enrollmentId;
    await waitFor(async () => (await call('GET', `/v1/enrollments/${bounced}`)).status === 'bounced', {
      timeoutMs: 30_000,
      what: 'the bounce',
    });
    const mail = await waitFor(async () => sink.received.find((m) => m.raw.includes(bodies.emailBody)), {
      timeoutMs: 30_000,
      what: 'the sequence email',
    });
    await waitFor(async () => site.received.visits.includes(slug), { timeoutMs: 30_000, what: 'the visit' });
    return { leadId: String(lead.id), messageId: mail.parsed.messageId };
  }

  /** A signed inbound reply to the email, a reply marked through the API, a LinkedIn reply. */
  async function receiveReplies(leadId: string, inReplyTo: string | undefined) {
    const replyBody = JSON.stringify({
      from: `Lee <lead.${tag}@example.test>`,
      to: ['sales@sender.test'],
      subject: 'Re: Hello Lee',
      text: bodies.replyText,
      inReplyTo,
    });
    const id = `msg_${tag}`;
    const at = new Date();
    secrets.inboundSignature = new Webhook(ws.webhookSecret).sign(id, at, replyBody);
    const reply = await signedPost(engine, ws, 'email', replyBody, {
      id,
      at,
      signature: secrets.inboundSignature,
    });
    expect(reply.json()).toMatchObject({ status: 'matched' });
    await call('POST', '/v1/replies', { leadId, channel: 'linkedin', text: bodies.markedReply });
    const linkedin = await signedPost(engine, ws, 'linkedin', {
      type: 'reply',
      linkedinUrl: site.addProfile(`other-${tag}`),
      text: bodies.linkedinReply,
    });
    expect(linkedin.statusCode).toBe(200);
  }

  it('captured the flow at info level', () => {
    const levels = new Set(lines.map((l) => LogLine.parse(JSON.parse(l)).level));
    expect(levels).toContain(30);
    expect(levels).toContain(40);
    expect(lines.some((l) => l.includes('/v1/webhooks/'))).toBe(true);
    expect(lines.length).toBeGreaterThan(20);
  });

  it('logs no secret: SMTP password, cookies, API key, webhook secrets or signatures', () => {
    const outbound = receiver.received.map((h) => String(h.headers['webhook-signature']));
    const all = { ...secrets, ...Object.fromEntries(outbound.map((s, i) => [`outboundSignature${i}`, s])) };
    const log = lines.join('');
    for (const [name, value] of Object.entries(all)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(log.includes(value), `${name} is in the logs`).toBe(false);
      // The base64 part alone too, and each signature of a header that carries several.
      for (const part of value.split(/[ ,]/).map((p) => p.replace(/^(whsec_|v1,)/, ''))) {
        if (part.length > 8) expect(log.includes(part), `part of ${name} is in the logs`).toBe(false);
      }
    }
  });

  it('logs no message body or reply text', () => {
    const log = lines.join('');
    for (const [name, value] of Object.entries(bodies))
      expect(log.includes(value), `${name} is in the logs`).toBe(false);
  });

  it('logs a failed query with its SQL and the Postgres error, not the values it was given', async () => {
    const body = `FAILED-INSERT-BODY-${tag}`;
    const failed = await engine.deps.db
      .insert(messages)
      .values({
        workspaceId: randomUUID(),
        direction: 'inbound',
        channel: 'email',
        bodyText: body,
        status: 'x',
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(Error);
    const before = lines.length;
    engine.deps.log.error({ err: failed }, 'unhandled error');
    const logged = lines.slice(before).join('');
    expect(logged).toContain('insert into \\"messages\\"');
    expect(logged).toContain('foreign key');
    expect(logged).not.toContain(body);
  });

  it('stores SMTP passwords, LinkedIn cookies and webhook secrets encrypted, and returns none of them', async () => {
    const stored = async (table: string) =>
      (await engine.deps.pool.query<{ row: string }>(`select t::text as row from ${table} t`)).rows.map(
        (r) => r.row,
      );
    const [mailbox] = await engine.deps.pool
      .query<{ smtp_pass_enc: string }>('select smtp_pass_enc from mailboxes where workspace_id = $1', [
        ws.id,
      ])
      .then((r) => r.rows);
    expect(mailbox && engine.deps.secrets.decrypt(mailbox.smtp_pass_enc)).toBe(secrets.smtpPass);
    const sessions = await engine.deps.pool.query<{ session_enc: string }>(
      'select session_enc from linkedin_accounts where workspace_id = $1 order by created_at',
      [ws.id],
    );
    expect(sessions.rows.map((r) => engine.deps.secrets.decrypt(r.session_enc)).join()).toContain(
      secrets.jsessionId,
    );
    // No table holds any secret in clear, whatever column it might have leaked into.
    const tables = await engine.deps.pool.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    const dump = (await Promise.all(tables.rows.map((t) => stored(`"${t.table_name}"`)))).flat().join('\n');
    expect(dump).toContain(bodies.emailBody.slice(0, 5));
    for (const [name, value] of Object.entries(secrets)) {
      if (name === 'inboundSignature') continue; // not ours to keep; checked in the logs
      expect(dump.includes(value), `${name} is stored in clear`).toBe(false);
    }
    for (const url of [
      '/v1/mailboxes',
      '/v1/linkedin-accounts',
      '/v1/webhook-endpoints',
      '/v1/workspace',
      '/v1/api-keys',
    ]) {
      const res = await engine.app.inject({ method: 'GET', url, headers: ws.auth });
      for (const [name, value] of Object.entries(secrets))
        expect(res.body.includes(value), `${url} returns ${name}`).toBe(false);
    }
  });
});
