import http from 'node:http';
import type { Server } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import {
  accessTokenFor,
  OAuth2AuthError,
  OAuth2TransientError,
  sealOAuth2Secret,
} from '../../../src/channels/email/oauth2';
import { createDeps } from '../../../src/context';
import type { OAuth2Settings } from '../../../src/db/schema/index';
import { events, mailboxes, messages, webhookDeliveries } from '../../../src/db/schema/index';
import { BlockedTargetError, createOutboundTargets } from '../../../src/lib/outbound-targets';
import { createLogger } from '../../../src/logger';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../../helpers/engine';
import { claimedContext, storeSequence } from '../../helpers/step-context';

function portOf(server: Server): number {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('not listening on a port');
  return address.port;
}

/** What the token endpoint answers: a status and a JSON body, after an optional delay. */
type TokenReply = { status: number; body: Record<string, unknown>; delayMs?: number };

/** A local OAuth2 token endpoint: records each request's form and answers as the test says. */
async function startTokenEndpoint() {
  const requests: Record<string, string>[] = [];
  let issued = 0;
  let reply: () => TokenReply = () => ({
    status: 200,
    body: { access_token: `access-${++issued}`, expires_in: 3600, token_type: 'Bearer' },
  });
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      requests.push(Object.fromEntries(new URLSearchParams(body)));
      const answer = reply();
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    answer(next: () => TokenReply) {
      reply = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real SMTP server that only takes XOAUTH2, and only tokens the test calls valid. */
async function startXoauthSmtp(isValid: (token: string) => boolean) {
  const logins: { user: string; token: string; accepted: boolean }[] = [];
  const received: { to: string[]; raw: string }[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authMethods: ['XOAUTH2'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      const token = auth.accessToken ?? '';
      const accepted = auth.method === 'XOAUTH2' && isValid(token);
      logins.push({ user: auth.username ?? '', token, accepted });
      if (accepted) callback(null, { user: auth.username });
      else callback(null, { data: { status: '401', schemes: 'bearer' } });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server.server);
  return {
    port,
    logins,
    received,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SECRET = { clientSecret: 'client-secret-0123', refreshToken: 'refresh-token-0123' };
const oneStep = { steps: [{ type: 'email' as const, subject: 'Hello', body: 'Hi {{ firstName }}' }] };

describe('OAuth2 mailboxes: token refresh and XOAUTH2 sending', () => {
  let engine: TestEngine;
  let channel: EmailChannel;
  let tokens: Awaited<ReturnType<typeof startTokenEndpoint>>;
  let smtp: Awaited<ReturnType<typeof startXoauthSmtp>>;
  /** Tokens the token endpoint issued (and the cached ones a test stores): the SMTP server takes these. */
  const valid = new Set<string>();

  beforeAll(async () => {
    engine = await startTestEngine();
    channel = createEmailChannel(engine.deps);
    tokens = await startTokenEndpoint();
    smtp = await startXoauthSmtp((token) => valid.has(token));
  });
  afterAll(async () => {
    await channel.close();
    await smtp.close();
    await tokens.close();
    await engine.close();
  });
  beforeEach(() => {
    tokens.requests.length = 0;
    let issued = 0;
    tokens.answer(() => {
      const token = `access-${Date.now()}-${++issued}`;
      valid.add(token);
      return { status: 200, body: { access_token: token, expires_in: 3600, token_type: 'Bearer' } };
    });
  });

  /** A workspace and a mailbox row with OAuth2 settings, as the mailboxes API would store them. */
  const oauthMailbox = async (settings: Partial<OAuth2Settings> = {}, row: Partial<MailboxInsert> = {}) => {
    const ws = await createTestWorkspace(engine.app);
    const [box] = await engine.deps.db
      .insert(mailboxes)
      .values({
        workspaceId: ws.id,
        name: 'Gmail',
        fromEmail: 'sales@sender.test',
        fromName: 'Sam Sender',
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        smtpTls: 'none',
        minIntervalSeconds: 0,
        oauth2: {
          provider: 'custom',
          clientId: 'client-id-1',
          tokenUrl: tokens.url,
          user: 'sales@sender.test',
          ...settings,
        },
        oauth2SecretEnc: sealOAuth2Secret(engine.deps.secrets, SECRET),
        ...row,
      })
      .returning();
    if (!box) throw new Error('no mailbox');
    return { ws, box };
  };
  const mailboxRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(mailboxes).where(eq(mailboxes.id, id));
    if (!row) throw new Error('mailbox vanished');
    return row;
  };
  const storedToken = async (id: string) => {
    const row = await mailboxRow(id);
    return row.oauth2AccessEnc ? engine.deps.secrets.decrypt(row.oauth2AccessEnc) : null;
  };
  const sendOne = async (workspaceId: string) => {
    const seq = await storeSequence(engine, workspaceId, oneStep);
    const ctx = await claimedContext(engine, workspaceId, seq, { lead: { firstName: 'Ada' } });
    return { ctx, result: await channel.send(ctx) };
  };

  it('refreshes once for a mailbox with no cached token, stores it sealed, and sends with it', async () => {
    const { ws, box } = await oauthMailbox();
    const before = Date.now();
    const { ctx, result } = await sendOne(ws.id);
    const after = Date.now();

    expect(result.kind).toBe('sent');
    expect(tokens.requests).toEqual([
      {
        grant_type: 'refresh_token',
        client_id: 'client-id-1',
        client_secret: SECRET.clientSecret,
        refresh_token: SECRET.refreshToken,
      },
    ]);
    const row = await mailboxRow(box.id);
    const token = await storedToken(box.id);
    expect(token).toMatch(/^access-/);
    // Sealed at rest: the column never holds the token itself.
    expect(row.oauth2AccessEnc).not.toContain(token ?? '');
    // The provider's expires_in (3600 s) from the moment of the refresh, somewhere in the send.
    const expiresAt = row.oauth2AccessExpiresAt?.getTime() ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3600_000);
    expect(smtp.logins.filter((l) => l.token === token)).toEqual([
      { user: 'sales@sender.test', token, accepted: true },
    ]);
    const lead = (ctx.lead.email ?? '').toLowerCase();
    expect(smtp.received.filter((m) => m.to.includes(lead))).toHaveLength(1);
    expect(row.inboxStatus).toBe('disabled');
  });

  it('uses a cached token with time left, without asking the provider', async () => {
    valid.add('cached-still-good');
    const { ws, box } = await oauthMailbox(
      {},
      {
        oauth2AccessEnc: engine.deps.secrets.encrypt('cached-still-good'),
        oauth2AccessExpiresAt: new Date(Date.now() + 30 * 60_000),
      },
    );
    const { result } = await sendOne(ws.id);
    expect(result.kind).toBe('sent');
    expect(tokens.requests).toHaveLength(0);
    expect(smtp.logins.at(-1)).toEqual({
      user: 'sales@sender.test',
      token: 'cached-still-good',
      accepted: true,
    });
    expect(await storedToken(box.id)).toBe('cached-still-good');
  });

  it('refreshes a cached token that expires within 5 minutes before sending, and keeps a rotated refresh token', async () => {
    // The old token still works at the server; the engine must not use it so close to its end.
    valid.add('cached-nearly-expired');
    const { ws, box } = await oauthMailbox(
      {},
      {
        oauth2AccessEnc: engine.deps.secrets.encrypt('cached-nearly-expired'),
        oauth2AccessExpiresAt: new Date(Date.now() + 2 * 60_000),
      },
    );
    tokens.answer(() => {
      valid.add('rotated-access');
      return {
        status: 200,
        body: { access_token: 'rotated-access', expires_in: '1800', refresh_token: 'refresh-token-rotated' },
      };
    });
    const { result } = await sendOne(ws.id);

    expect(result.kind).toBe('sent');
    expect(tokens.requests).toHaveLength(1);
    expect(smtp.logins.at(-1)).toEqual({
      user: 'sales@sender.test',
      token: 'rotated-access',
      accepted: true,
    });
    expect(smtp.logins.some((l) => l.token === 'cached-nearly-expired')).toBe(false);
    const row = await mailboxRow(box.id);
    expect(await storedToken(box.id)).toBe('rotated-access');
    expect(JSON.parse(engine.deps.secrets.decrypt(row.oauth2SecretEnc ?? ''))).toEqual({
      clientSecret: SECRET.clientSecret,
      refreshToken: 'refresh-token-rotated',
    });
  });

  it('refreshes a cached token the SMTP server refuses before its expiry, and logs in with the new one', async () => {
    // Revoked early at the provider: still "valid" by its expiry, refused by the server.
    const { ws, box } = await oauthMailbox(
      {},
      {
        oauth2AccessEnc: engine.deps.secrets.encrypt('revoked-early'),
        oauth2AccessExpiresAt: new Date(Date.now() + 30 * 60_000),
      },
    );
    const { result } = await sendOne(ws.id);
    expect(result.kind).toBe('sent');
    expect(tokens.requests).toHaveLength(1);
    const fresh = await storedToken(box.id);
    expect(smtp.logins.slice(-2)).toEqual([
      { user: 'sales@sender.test', token: 'revoked-early', accepted: false },
      { user: 'sales@sender.test', token: fresh, accepted: true },
    ]);
  });

  it('makes one token request for two concurrent refreshes of one mailbox from two processes', async () => {
    const { box } = await oauthMailbox();
    tokens.answer(() => ({
      status: 200,
      body: { access_token: 'only-one', expires_in: 3600 },
      delayMs: 300,
    }));
    // A second set of deps (its own connection pool) stands for another worker process.
    const other = createDeps(engine.config, createLogger('silent'), { poolSize: 2 });
    try {
      const got = await Promise.all([
        accessTokenFor(engine.deps, box),
        accessTokenFor(other, box),
        accessTokenFor(engine.deps, box),
      ]);
      expect(got).toEqual(['only-one', 'only-one', 'only-one']);
    } finally {
      await other.close();
    }
    expect(tokens.requests).toHaveLength(1);
  });

  it('marks a revoked refresh token auth_failed in the provider words, fails the send as a retry, and waits out the backoff', async () => {
    const { ws, box } = await oauthMailbox();
    const hook = await engine.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: ws.auth,
      payload: { url: 'http://127.0.0.1:9/hook', events: ['mailbox.inbox_error'] },
    });
    expect(hook.statusCode).toBe(201);
    // The provider echoes the refresh token: it must not reach the mailbox, the event or the step.
    tokens.answer(() => ({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: `Token has been expired or revoked (${SECRET.refreshToken}).`,
      },
    }));
    const connectionsBefore = smtp.connections();
    const before = Date.now();
    const { ctx, result } = await sendOne(ws.id);

    // A retry, not a throw: the engine records a throw as ambiguous, and nothing reached SMTP.
    expect(result.kind).toBe('retry_later');
    if (result.kind !== 'retry_later') return;
    expect(result.reason).toContain('invalid_grant: Token has been expired or revoked');
    expect(result.countsAsAttempt).toBe(true);
    expect(smtp.connections()).toBe(connectionsBefore);
    const [message] = await engine.deps.db.select().from(messages).where(eq(messages.stepRunId, ctx.run.id));
    expect(message?.status).toBe('failed');

    const row = await mailboxRow(box.id);
    expect(row.inboxStatus).toBe('auth_failed');
    expect(row.inboxLastError).toBe(
      'oauth2 refused: invalid_grant: Token has been expired or revoked ([redacted]). (HTTP 400)',
    );
    expect(row.inboxFailures).toBe(1);
    const backoff = (row.inboxRetryAt?.getTime() ?? 0) - before;
    expect(backoff).toBeGreaterThanOrEqual(59_000);
    expect(backoff).toBeLessThanOrEqual(65_000);
    for (const text of [row.inboxLastError, result.reason]) {
      expect(text).not.toContain(SECRET.refreshToken);
      expect(text).not.toContain(SECRET.clientSecret);
    }

    const recorded = await engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'mailbox.inbox_error')));
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.leadId).toBeNull();
    expect(recorded[0]?.data).toMatchObject({
      mailboxId: box.id,
      status: 'auth_failed',
      error: row.inboxLastError,
      failures: 1,
    });
    const queued = await engine.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.workspaceId, ws.id));
    expect(queued.map((d) => d.eventType)).toEqual(['mailbox.inbox_error']);

    // Within the backoff: the same refusal, and the provider is not asked again.
    const again = accessTokenFor(engine.deps, box);
    await expect(again).rejects.toBeInstanceOf(OAuth2AuthError);
    await expect(again).rejects.toThrow(row.inboxLastError ?? '');
    const second = await sendOne(ws.id);
    expect(second.result.kind).toBe('retry_later');
    expect(tokens.requests).toHaveLength(1);
    expect(smtp.connections()).toBe(connectionsBefore);
    expect((await mailboxRow(box.id)).inboxFailures).toBe(1);
  });

  it('records a failing endpoint as a transient error with backoff, and clears it on the next good refresh', async () => {
    const { box } = await oauthMailbox();
    tokens.answer(() => ({ status: 503, body: { error: 'temporarily_unavailable' } }));
    await expect(accessTokenFor(engine.deps, box)).rejects.toBeInstanceOf(OAuth2TransientError);
    let row = await mailboxRow(box.id);
    expect(row.inboxStatus).toBe('error');
    expect(row.inboxLastError).toBe('oauth2 unavailable: temporarily_unavailable (HTTP 503)');
    expect(row.inboxRetryAt?.getTime()).toBeGreaterThan(Date.now());
    await expect(accessTokenFor(engine.deps, box)).rejects.toBeInstanceOf(OAuth2TransientError);
    expect(tokens.requests).toHaveLength(1);

    // The backoff is over and the provider is back.
    await engine.deps.db
      .update(mailboxes)
      .set({ inboxRetryAt: new Date(Date.now() - 1000) })
      .where(eq(mailboxes.id, box.id));
    tokens.answer(() => ({ status: 200, body: { access_token: 'after-outage', expires_in: 3600 } }));
    expect(await accessTokenFor(engine.deps, box)).toBe('after-outage');
    row = await mailboxRow(box.id);
    expect(row).toMatchObject({
      inboxStatus: 'disabled',
      inboxLastError: null,
      inboxFailures: 0,
      inboxRetryAt: null,
    });
  });

  it('refuses a token endpoint on a private address that is not allowed, without a request', async () => {
    const { box } = await oauthMailbox();
    const guarded = { ...engine.deps, targets: createOutboundTargets([]) };
    await expect(accessTokenFor(guarded, box)).rejects.toBeInstanceOf(BlockedTargetError);
    expect(tokens.requests).toHaveLength(0);
    const row = await mailboxRow(box.id);
    expect(row.inboxStatus).toBe('error');
    expect(row.inboxLastError).toBe('oauth2 token endpoint blocked: private address');
  });

  it('refuses plain http to a public token endpoint, without a request', async () => {
    const { box } = await oauthMailbox({ tokenUrl: 'http://login.example.com/token' });
    await expect(accessTokenFor(engine.deps, box)).rejects.toBeInstanceOf(OAuth2AuthError);
    const row = await mailboxRow(box.id);
    expect(row.inboxStatus).toBe('auth_failed');
    expect(row.inboxLastError).toBe('oauth2 refused: the token URL must use https');
  });
});

type MailboxInsert = typeof mailboxes.$inferInsert;
