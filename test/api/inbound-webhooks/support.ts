import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { LightMyRequestResponse } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { messages } from '../../../src/db/schema/index';
import type { TestEngine, TestWorkspace } from '../../helpers/engine';
import { insertLeads, type LeadSeed } from '../../helpers/factories';
import { createSequence, enrollLeads } from '../../helpers/sequences';

export type SignOptions = {
  id?: string;
  /** When the request claims it was signed; default now. */
  at?: Date;
  secret?: string;
  contentType?: string;
  /** Replaces the signature header entirely. */
  signature?: string;
  /** Changes the body after signing. */
  tamper?: (body: Buffer) => Buffer;
  /** More request headers (`prefer: respond-async`). */
  headers?: Record<string, string>;
};

/** POSTs `body` to an inbound webhook route, signed the Standard Webhooks way with the workspace secret. */
export async function signedPost(
  engine: TestEngine,
  ws: Pick<TestWorkspace, 'id' | 'webhookSecret'>,
  path: 'email' | 'email/raw' | 'linkedin',
  body: unknown,
  opts: SignOptions = {},
): Promise<LightMyRequestResponse & { webhookId: string }> {
  const raw = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const id = opts.id ?? `msg_${randomUUID()}`;
  const at = opts.at ?? new Date();
  const signature = opts.signature ?? new Webhook(opts.secret ?? ws.webhookSecret).sign(id, at, raw);
  const res = await engine.app.inject({
    method: 'POST',
    url: `/v1/webhooks/${ws.id}/${path}`,
    headers: {
      'content-type': opts.contentType ?? (path === 'email/raw' ? 'message/rfc822' : 'application/json'),
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
      ...opts.headers,
    },
    payload: opts.tamper ? opts.tamper(raw) : raw,
  });
  return Object.assign(res, { webhookId: id });
}

/** A message from the lead's address, threaded on the one it answers. */
export const rawMessage = (from: string, inReplyTo: string, body: string, headers: string[] = []) =>
  [
    `From: <${from}>`,
    'To: sales@sender.test',
    'Subject: Re: Hello',
    `Message-ID: <in-${Math.random().toString(36).slice(2)}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    ...headers,
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');

/** A delivery status notification for `messageId`, as a receiving server returns it. */
export const rawDsn = (recipient: string, messageId: string) =>
  [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
    'To: sales@sender.test',
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <dsn-${Math.random().toString(36).slice(2)}@mx.example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    '--B',
    'Content-Type: text/rfc822-headers',
    '',
    'From: sales@sender.test',
    `Message-ID: ${messageId}`,
    '--B--',
    '',
  ].join('\r\n');

export type Enrolled = { sequenceId: string; leads: { id: string; email: string; messageId: string }[] };

/**
 * A sequence (through the API) with `count` leads enrolled (through the API), and the first email
 * recorded as sent to each, as the email channel records it: what an inbound reply answers.
 */
export async function enrolledLeads(
  engine: TestEngine,
  ws: TestWorkspace,
  opts: { count: number; settings?: Record<string, unknown>; lead?: (i: number) => LeadSeed },
): Promise<Enrolled> {
  const sequenceId = await createSequence(engine.app, ws, {
    steps: [
      { type: 'email', subject: 'Quick question', body: 'Hi {{ firstName }}' },
      { type: 'wait', days: 2 },
      { type: 'email', subject: 'Following up', body: 'Any thoughts?', thread: 'reply' },
    ],
    settings: opts.settings ?? {},
  });
  const leads = await insertLeads(engine.deps.db, ws.id, opts.count, opts.lead);
  const body = await enrollLeads(
    engine.app,
    ws,
    sequenceId,
    leads.map((l) => l.id),
  );
  if (body.enrolled.length !== opts.count) throw new Error(`enrollment failed: ${JSON.stringify(body)}`);
  const out = leads.map((lead) => ({
    id: lead.id,
    email: lead.email ?? '',
    messageId: `<${randomUUID()}@sender.test>`,
    enrollmentId: body.enrolled.find((e) => e.leadId === lead.id)?.enrollmentId ?? null,
  }));
  await engine.deps.db.insert(messages).values(
    out.map((l) => ({
      workspaceId: ws.id,
      leadId: l.id,
      enrollmentId: l.enrollmentId,
      direction: 'outbound' as const,
      channel: 'email' as const,
      messageId: l.messageId,
      fromAddress: 'sales@sender.test',
      toAddress: l.email,
      subject: 'Quick question',
      status: 'sent',
    })),
  );
  return { sequenceId, leads: out };
}

export type ReceivedHook = { headers: IncomingHttpHeaders; body: string };

/** A real HTTP server standing in for a CRM: `respond` picks each answer's status code. */
export async function startReceiver(respond: (hook: ReceivedHook, n: number) => number = () => 204) {
  const received: ReceivedHook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(hook);
      res.statusCode = respond(hook, received.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('receiver has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
