import http from 'node:http';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, mailboxes, messages } from '../../../src/db/schema/index';
import { type Dovecot, startDovecot } from '../../helpers/dovecot';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../../helpers/engine';

/**
 * A local OAuth2 provider: a token endpoint that issues access tokens for a refresh token, and the
 * RFC 7662 introspection endpoint Dovecot checks each IMAP login's token with.
 */
async function startProvider(user: string) {
  const valid = new Set<string>();
  let revoked = false;
  let issued = 0;
  let tokenRequests = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.url === '/token') {
        tokenRequests++;
        if (revoked || form.get('refresh_token') !== 'refresh-1')
          return json(400, {
            error: 'invalid_grant',
            error_description: 'Token has been expired or revoked.',
          });
        const token = `imap-access-${++issued}`;
        valid.add(token);
        return json(200, { access_token: token, expires_in: 3600, token_type: 'Bearer' });
      }
      if (req.url === '/introspect') {
        const token = form.get('token') ?? '';
        return json(200, valid.has(token) ? { active: true, email: user } : { active: false });
      }
      json(404, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    tokenRequests: () => tokenRequests,
    /** The provider forgets every token and refuses the refresh token from now on. */
    revoke() {
      revoked = true;
      valid.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('inbox over IMAP with OAuth2 (XOAUTH2 against a real Dovecot)', () => {
  const user = 'alex@ourco.example';
  let engine: TestEngine;
  let dovecot: Dovecot;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  beforeAll(async () => {
    provider = await startProvider(user);
    dovecot = await startDovecot({ oauth2IntrospectionUrl: `${provider.base}/introspect` });
    engine = await startTestEngine({ workers: true, env: { INBOX_POLL_SECONDS: '2' } });
  });
  afterAll(async () => {
    await engine?.close();
    await dovecot?.stop();
    await provider?.close();
  });

  it('signs in with a refreshed access token and reads the inbox; a revoked refresh token ends in auth_failed without a retry loop', async () => {
    const ws = await createTestWorkspace(engine.app);
    // The account exists for delivery (APPEND below logs in with a password); the engine only has OAuth2.
    await dovecot.addUser(user, 'delivery-only-password');
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: {
        name: 'Alex',
        fromEmail: user,
        smtp: { host: '127.0.0.1', port: 2525, tls: 'none' },
        imap: { host: dovecot.host, port: dovecot.port, secure: false, tls: 'none' },
        oauth2: {
          provider: 'custom',
          clientId: 'client-1',
          clientSecret: 'client-secret-1',
          refreshToken: 'refresh-1',
          tokenUrl: `${provider.base}/token`,
          user,
        },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const view = async () =>
      (await engine.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: ws.auth })).json();
    await waitFor(async () => (await view()).inbox.status === 'connected', { timeoutMs: 20_000 });
    expect(provider.tokenRequests()).toBe(1);

    await dovecot.append(
      user,
      'delivery-only-password',
      'From: someone@example.test\r\nTo: alex@ourco.example\r\nSubject: hello\r\nMessage-ID: <oauth-read-1@example.test>\r\n\r\nhi\r\n',
    );
    await waitFor(
      async () =>
        (
          await engine.deps.db
            .select()
            .from(messages)
            .where(eq(messages.messageId, '<oauth-read-1@example.test>'))
        ).length === 1,
      { timeoutMs: 10_000 },
    );

    // The provider revokes everything: the session's token stops working at the next login, and
    // the refresh is refused. The reader must stop asking, not loop.
    provider.revoke();
    await engine.deps.db
      .update(mailboxes)
      .set({ oauth2AccessExpiresAt: new Date(Date.now() - 1000), updatedAt: new Date() })
      .where(eq(mailboxes.id, id));
    const failed = await waitFor(
      async () => {
        const v = await view();
        return v.inbox.status === 'auth_failed' ? v : undefined;
      },
      { timeoutMs: 40_000 },
    );
    expect(failed.inbox.lastError).toMatch(/invalid_grant/);
    const requestsAfterFailure = provider.tokenRequests();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(provider.tokenRequests()).toBe(requestsAfterFailure);
    const errors = await engine.deps.db.select().from(events).where(eq(events.type, 'mailbox.inbox_error'));
    expect(errors.map((e) => e.data)).toEqual([
      expect.objectContaining({ mailboxId: id, status: 'auth_failed' }),
    ]);
  });
});
