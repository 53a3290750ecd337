import type { TestEngine, TestWorkspace } from './engine';
import type { SmtpSink } from './smtp-sink';

export type MailboxJson = { id: string; fromEmail: string; dailyLimit: number; minIntervalSeconds: number };

/** Adds a mailbox through the API, pointed at the test's SMTP sink. */
export async function addMailbox(
  engine: TestEngine,
  ws: TestWorkspace,
  sink: SmtpSink,
  overrides: Record<string, unknown> = {},
): Promise<MailboxJson> {
  const res = await engine.app.inject({
    method: 'POST',
    url: '/v1/mailboxes',
    headers: ws.auth,
    payload: {
      name: 'Sales',
      fromEmail: 'sales@sender.test',
      fromName: 'Sam Sender',
      smtp: {
        host: sink.host,
        port: sink.port,
        secure: false,
        tls: 'none',
        user: 'sam',
        pass: 'smtp-password-1',
      },
      minIntervalSeconds: 0,
      ...overrides,
    },
  });
  if (res.statusCode !== 201) throw new Error(`mailbox create failed: ${res.statusCode} ${res.body}`);
  return res.json<MailboxJson>();
}
