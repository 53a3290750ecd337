/**
 * Reply webhooks per second: signature check, match, stop, stage change, each a real signed
 * `POST /v1/webhooks/:ws/email` for a distinct enrolled lead, against Fastify answering an empty
 * route in the same process and run. Run: `npx tsx bench/replies.ts [leads] [connections]`.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { and, eq, inArray } from 'drizzle-orm';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createDeps } from '../src/context';
import { enrollments, leads, messages } from '../src/db/schema/index';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { createLogger } from '../src/logger';

export type RepliesBench = {
  leads: number;
  connections: number;
  emptyRoute: { requestsPerSecond: number; p99Ms: number };
  replyWebhook: { requestsPerSecond: number; p99Ms: number; non2xx: number; replied: number };
  /** Reply throughput as a fraction of the empty route's. */
  ratio: number;
};

const ADMIN = 'bench-admin-token-0123456789';

export async function benchReplies(
  opts: { leads?: number; connections?: number } = {},
): Promise<RepliesBench> {
  const count = opts.leads ?? 2000;
  const connections = opts.connections ?? 20;
  const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const name = `outreach_bench_${randomBytes(4).toString('hex')}`;
  base.pathname = `/${name}`;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: base.toString(),
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `bench_${name}`,
    // Measured here is the reply path, not the per-client limiter in front of it.
    RATE_LIMIT_PER_MINUTE: '1000000000',
  });
  await ensureDatabase(config.DATABASE_URL);
  const deps = createDeps(config, createLogger('silent'), { poolSize: connections + 5 });
  await runMigrations(deps.db, deps.pool);
  const app = await buildApp(deps);
  app.post('/bench/empty', { config: { auth: 'public' } }, async () => ({}));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const setup = await seed(app, deps.db, count);
    const emptyRoute = await autocannon({
      url: `${address}/bench/empty`,
      method: 'POST',
      connections,
      amount: count,
    });
    let next = 0;
    const webhook = new Webhook(setup.secret);
    const replyWebhook = await autocannon({
      url: `${address}/v1/webhooks/${setup.workspaceId}/email`,
      connections,
      amount: count,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const lead = setup.leads[next++ % setup.leads.length];
            const body = JSON.stringify({
              from: lead?.email,
              text: 'Interested, call me.',
              inReplyTo: lead?.messageId,
            });
            const id = `bench_${next}`;
            const now = new Date();
            return {
              ...request,
              body,
              headers: {
                'content-type': 'application/json',
                'webhook-id': id,
                'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
                'webhook-signature': webhook.sign(id, now, body),
              },
            };
          },
        },
      ],
    });
    const replied = await deps.db
      .select({ id: enrollments.id })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.status, 'replied'),
          inArray(
            enrollments.leadId,
            setup.leads.map((l) => l.id),
          ),
        ),
      );
    const rps = (r: autocannon.Result) => Math.round(r.requests.total / r.duration);
    return {
      leads: count,
      connections,
      emptyRoute: { requestsPerSecond: rps(emptyRoute), p99Ms: emptyRoute.latency.p99 },
      replyWebhook: {
        requestsPerSecond: rps(replyWebhook),
        p99Ms: replyWebhook.latency.p99,
        non2xx: replyWebhook.non2xx,
        replied: replied.length,
      },
      ratio: Number((rps(replyWebhook) / Math.max(1, rps(emptyRoute))).toFixed(4)),
    };
  } finally {
    await app.close();
    await deps.close();
    await dropDatabase(config.DATABASE_URL, name);
  }
}

type Seeded = {
  workspaceId: string;
  secret: string;
  leads: { id: string; email: string; messageId: string }[];
};

/** A workspace, a sequence with `onReply`, `count` enrolled leads and the first email "sent" to each. */
async function seed(
  app: Awaited<ReturnType<typeof buildApp>>,
  db: ReturnType<typeof createDeps>['db'],
  count: number,
) {
  const ws = (
    await app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'bench' },
    })
  ).json<{ id: string; apiKey: string; webhookSecret: string }>();
  const auth = { authorization: `Bearer ${ws.apiKey}` };
  const seq = await app.inject({
    method: 'POST',
    url: '/v1/sequences',
    headers: auth,
    payload: {
      name: 'bench',
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 3 },
        { type: 'email', subject: 'Re', body: 'Again' },
      ],
      settings: { onReply: { stage: 'proposal' } },
    },
  });
  const sequenceId = seq.json<{ id: string }>().id;
  const rows = await db
    .insert(leads)
    .values(
      Array.from({ length: count }, (_, i) => {
        const email = `bench${i}@company${i % 50}.test`;
        return {
          workspaceId: ws.id,
          email,
          emailKey: email,
          companyDomain: `company${i % 50}.test`,
          firstName: `B${i}`,
        };
      }),
    )
    .returning({ id: leads.id, email: leads.email });
  for (let i = 0; i < rows.length; i += 10_000) {
    await app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: auth,
      payload: { leadIds: rows.slice(i, i + 10_000).map((r) => r.id) },
    });
  }
  const seeded: Seeded = {
    workspaceId: ws.id,
    secret: ws.webhookSecret,
    leads: rows.map((r, i) => ({
      id: r.id,
      email: r.email ?? '',
      messageId: `<bench-${i}-${ws.id}@sender.test>`,
    })),
  };
  await db.insert(messages).values(
    seeded.leads.map((l) => ({
      workspaceId: ws.id,
      leadId: l.id,
      direction: 'outbound' as const,
      channel: 'email' as const,
      messageId: l.messageId,
      toAddress: l.email,
      status: 'sent',
    })),
  );
  return seeded;
}

async function dropDatabase(url: string, name: string) {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  await client.end();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [leadsArg, connectionsArg] = process.argv.slice(2).map(Number);
  benchReplies({ leads: leadsArg || undefined, connections: connectionsArg || undefined })
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
