import { sql } from 'drizzle-orm';
import { PEEK_QUERY } from '../src/channels/email/inbox/peek';
import { startInboxReader } from '../src/channels/email/inbox/reader';
import type { FolderSync } from '../src/channels/email/inbox/sync';
import { messages } from '../src/db/schema/index';
import { emailFromRaw } from '../src/engine/inbound/email';
import { type Dovecot, startDovecot } from '../test/helpers/dovecot';
import { enrollFresh } from './burst-setup';
import type { Throughput } from './ceilings/bullmq';
import { imapFetchCeiling } from './ceilings/imapflow';
import { type BenchEngine, startBenchEngine } from './engine';
import { backlog, type LeadThread } from './inbox-mail';
import { appendAll, connectInboxes, INBOX_PASS, inboxMailboxes } from './inbox-setup';
import type { ScenarioContext } from './scenario';
import { activeSequence, benchWorkspace } from './seed';
import { type PerOperation, startUsage } from './usage';
import { sampleWaits, type WaitSample } from './waits';

export type BacklogRun = {
  count: number;
  mix: { fromLeads: number; own: number; unknown: number; meanBytes: number };
  appendSeconds: number;
  /** The faster of two bare fetches (the first warms Dovecot's index and the page cache). */
  bare: Throughput & { bytes: number; runs: number[] };
  /** A bare fetch that also parses each message as the reader does (`emailFromRaw`). */
  fetchAndParse: Throughput;
  /**
   * A bare fetch of what the reader fetches of every message (UID, size, INTERNALDATE,
   * BODYSTRUCTURE, 13 header fields) instead of `BODY.PEEK[]`, nothing done with it: the faster of
   * two runs. What the protocol alone costs the reader before any work of its own.
   */
  headerQuery: Throughput;
  ingest: { seconds: number; perSecond: number; sync: FolderSync };
  /** Statements and CPU (this process, Postgres) per message read. */
  perMessage: PerOperation;
  postgresWaits: { samples: number; top: WaitSample[] };
  stored: { inbound: number; distinctMessageIds: number; expected: number; replied: number };
};

/**
 * The first sync of a busy inbox: `count` messages APPENDed to one Dovecot account before its inbox
 * is connected, then read by the engine's inbox reader (in this process, so `--cpu-prof` profiles
 * it) until the INBOX sync ends; against a bare imapflow fetch of the same messages.
 */
export async function measureBacklog(ctx: ScenarioContext, count: number): Promise<BacklogRun> {
  const dovecot = await startDovecot();
  try {
    return await readBacklog(ctx, count, dovecot);
  } finally {
    // A daemon of its own, which `killChildren` does not know of: stopped whatever happened.
    await dovecot.stop();
  }
}

async function readBacklog(ctx: ScenarioContext, count: number, dovecot: Dovecot): Promise<BacklogRun> {
  const stage = await ctx.env.stage('inbox-backlog');
  const engine = await startBenchEngine(stage);
  try {
    const ws = await benchWorkspace(engine.deps, 'inbox-backlog');
    // Nothing is sent: the SMTP settings only make the mailbox valid.
    const [box] = await inboxMailboxes(engine, ws, dovecot, { count: 1, smtpPort: 2525 });
    if (!box) throw new Error('no mailbox');
    const sequenceId = await activeSequence(engine.app, ws.apiKey, {
      name: 'backlog',
      steps: [
        { type: 'wait', days: 1 },
        { type: 'email', subject: 'Quick question', body: 'Hi' },
      ],
    });
    const leadCount = Math.round(count * 0.03);
    await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count: leadCount });
    const threads = await firstEmailsSent(engine, ws.id, box.id);
    const mail = backlog(count, box.user, threads);
    const bytes = mail.raws.reduce((sum, raw) => sum + raw.length, 0);
    ctx.log(`appending ${count} messages (${(bytes / 1024 / 1024).toFixed(1)} MB) to one inbox`);
    const appendStart = performance.now();
    await appendAll(dovecot, box.user, mail.raws);
    const appendSeconds = (performance.now() - appendStart) / 1000;

    const account = { host: dovecot.host, port: dovecot.port, user: box.user, pass: INBOX_PASS };
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await ctx.phase('ceiling-fetch', () => imapFetchCeiling(account)));
    const bare = runs.reduce((best, r) => (r.seconds < best.seconds ? r : best));
    if (bare.count !== count) throw new Error(`the bare fetch read ${bare.count} of ${count}`);
    const headerRuns = [];
    for (let i = 0; i < 2; i++)
      headerRuns.push(
        await ctx.phase('ceiling-header-query', () => imapFetchCeiling({ ...account, query: PEEK_QUERY })),
      );
    const headerQuery = headerRuns.reduce((best, r) => (r.seconds < best.seconds ? r : best));
    const parsed = await ctx.phase('ceiling-fetch-parse', () =>
      imapFetchCeiling({ ...account, parse: (raw) => emailFromRaw(raw) }),
    );
    ctx.log(
      `bare imapflow fetch: ${count} in ${bare.seconds.toFixed(2)} s; ` +
        `with mailparser on each: ${parsed.seconds.toFixed(2)} s; ` +
        `the reader's header query alone: ${headerQuery.seconds.toFixed(2)} s`,
    );

    await connectInboxes(engine, ws, dovecot, [box]);
    const usage = await startUsage(null, stage.databaseUrl);
    const waits = await sampleWaits(stage.databaseUrl);
    const ingest = await ctx.phase('ingest', () => firstSync(engine));
    const perMessage = await usage.stop(count);
    const postgresWaits = await waits.stop();
    ctx.log(`inbox reader: ${count} in ${ingest.seconds.toFixed(2)} s (${JSON.stringify(ingest.sync)})`);
    return {
      count,
      mix: {
        fromLeads: mail.fromLeads,
        own: mail.own,
        unknown: mail.unknown,
        meanBytes: Math.round(bytes / count),
      },
      appendSeconds: Number(appendSeconds.toFixed(1)),
      bare: { ...bare, runs: runs.map((r) => Number(r.seconds.toFixed(3))) },
      fetchAndParse: { count: parsed.count, seconds: parsed.seconds, perSecond: parsed.perSecond },
      headerQuery: {
        count: headerQuery.count,
        seconds: headerQuery.seconds,
        perSecond: headerQuery.perSecond,
      },
      ingest,
      perMessage,
      postgresWaits,
      stored: { ...(await storedCounts(engine, ws.id)), expected: count - mail.own },
    };
  } finally {
    await engine.close();
    await stage.drop();
  }
}

/** Starts a reader on the connected inbox and times it from its start to the end of the INBOX sync. */
async function firstSync(engine: BenchEngine): Promise<BacklogRun['ingest']> {
  const started = performance.now();
  let done: (sync: FolderSync) => void = () => {};
  const synced = new Promise<FolderSync>((resolve) => {
    done = resolve;
  });
  const reader = startInboxReader(engine.deps, {
    onSync: (_mailboxId, sync) => {
      if (sync.folder === 'INBOX') done(sync);
    },
  });
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the first sync took over 15 minutes')), 15 * 60_000).unref(),
    );
    const sync = await Promise.race([synced, timeout]);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, perSecond: sync.fetched / seconds, sync };
  } finally {
    await reader.stop();
  }
}

/** Our first email to every enrolled lead, as if sent from the mailbox: the leads' replies thread on them. */
async function firstEmailsSent(
  engine: BenchEngine,
  workspaceId: string,
  mailboxId: string,
): Promise<LeadThread[]> {
  const { rows } = await engine.deps.db.execute<{ id: string; email: string; first_name: string }>(
    sql`select id, email, first_name from leads where workspace_id = ${workspaceId} order by email`,
  );
  const threads = rows.map((r, i) => ({
    leadId: r.id,
    email: r.email,
    firstName: r.first_name,
    messageId: `<bench-${i}-${workspaceId}@sender0.test>`,
  }));
  if (threads.length > 0)
    await engine.deps.db.insert(messages).values(
      threads.map((t) => ({
        workspaceId,
        leadId: t.leadId,
        mailboxId,
        direction: 'outbound' as const,
        channel: 'email' as const,
        messageId: t.messageId,
        fromAddress: 'alex0@sender0.test',
        toAddress: t.email,
        subject: 'Quick question',
        status: 'sent',
      })),
    );
  return threads;
}

async function storedCounts(engine: BenchEngine, workspaceId: string) {
  const { rows } = await engine.deps.db.execute<{
    inbound: number;
    distinct_ids: number;
    replied: number;
  }>(sql`
    select
      (select count(*)::int from messages where workspace_id = ${workspaceId} and direction = 'inbound') as inbound,
      (select count(distinct message_id)::int from messages
        where workspace_id = ${workspaceId} and direction = 'inbound') as distinct_ids,
      (select count(*)::int from enrollments where workspace_id = ${workspaceId} and status = 'replied') as replied`);
  const row = rows[0];
  return {
    inbound: row?.inbound ?? 0,
    distinctMessageIds: row?.distinct_ids ?? 0,
    replied: row?.replied ?? 0,
  };
}
