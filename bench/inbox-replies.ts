import { sql } from 'drizzle-orm';
import type { ImapFlow } from 'imapflow';
import type { Dovecot } from '../test/helpers/dovecot';
import type { BenchEngine } from './engine';
import { imapFailure, imapSession, type InboxMailbox } from './inbox-setup';
import { type LeadThread, leadReply } from './inbox-mail';
import { percentile } from './report';

/** A lead whose first email went out from `mailboxId`: its reply goes to that mailbox's inbox. */
export type SentThread = LeadThread & { leadId: string; mailboxId: string };

/** The first email of every enrolled lead of the workspace, as the engine sent it. */
export async function sentThreads(engine: BenchEngine, workspaceId: string): Promise<SentThread[]> {
  const { rows } = await engine.deps.db.execute<{
    lead_id: string;
    email: string;
    first_name: string;
    message_id: string;
    mailbox_id: string;
  }>(sql`
    select m.lead_id, l.email, l.first_name, m.message_id, m.mailbox_id
    from messages m join leads l on l.id = m.lead_id
    where m.workspace_id = ${workspaceId} and m.direction = 'outbound' and m.status = 'sent'
    order by l.email`);
  return rows.map((r) => ({
    leadId: r.lead_id,
    email: r.email,
    firstName: r.first_name,
    messageId: r.message_id,
    mailboxId: r.mailbox_id,
  }));
}

/**
 * The order replies arrive in: one per mailbox in turn (mailbox 0, 1, … 49, 0, 1, …), so every inbox
 * gets mail all along the run, whatever number of leads each mailbox happened to send to.
 */
export function replyOrder(threads: SentThread[], boxes: InboxMailbox[]): SentThread[] {
  const queues = boxes.map((b) => threads.filter((t) => t.mailboxId === b.id));
  const order: SentThread[] = [];
  for (let round = 0; order.length < threads.length; round++)
    for (const queue of queues) {
      const thread = queue[round];
      if (thread) order.push(thread);
    }
  return order;
}

export type AppendLog = { appendedAt: Map<string, number>; appendMs: number[]; behindMs: number };

/**
 * Appends one reply per thread at a steady `ratePerSecond`, the k-th due at start + k / rate, by
 * `clients` concurrent APPEND clients; each client owns a share of the mailboxes and keeps one
 * session per mailbox open (opened before the clock starts). The clock of a reply starts just
 * before its APPEND is sent, so what the APPEND itself takes counts against the reader.
 */
export async function appendReplies(
  dovecot: Dovecot,
  boxes: InboxMailbox[],
  order: SentThread[],
  opts: { ratePerSecond: number; clients: number },
): Promise<AppendLog> {
  const userOf = new Map(boxes.map((b) => [b.id, b.user]));
  const boxIndex = new Map(boxes.map((b, i) => [b.id, i]));
  const clientOf = (thread: SentThread) => (boxIndex.get(thread.mailboxId) ?? 0) % opts.clients;
  const sessions = new Map<string, ImapFlow>();
  for (const box of boxes) sessions.set(box.id, await imapSession(dovecot, box.user));
  const log: AppendLog = { appendedAt: new Map(), appendMs: [], behindMs: 0 };
  try {
    const start = Date.now() + 500;
    const due = new Map(order.map((t, k) => [t.leadId, start + (k * 1000) / opts.ratePerSecond]));
    await Promise.all(
      Array.from({ length: opts.clients }, async (_, c) => {
        for (const [k, thread] of order.entries()) {
          if (clientOf(thread) !== c) continue;
          const at = due.get(thread.leadId) ?? Date.now();
          const wait = at - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          else log.behindMs = Math.max(log.behindMs, -wait);
          const session = sessions.get(thread.mailboxId);
          const to = userOf.get(thread.mailboxId);
          if (!session || !to) throw new Error(`no APPEND session for mailbox ${thread.mailboxId}`);
          const raw = leadReply(thread, to, k);
          const sent = Date.now();
          log.appendedAt.set(thread.leadId, sent);
          await session.append('INBOX', raw).catch((err: unknown) => {
            throw imapFailure(`APPEND to ${to}`, err);
          });
          log.appendMs.push(Date.now() - sent);
        }
      }),
    );
    return log;
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.logout().catch(() => {})));
  }
}

export type Latencies = {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Replies detected later than the target. */
  late: number;
};

/**
 * From each reply's APPEND to its lead's enrollment ended `replied` (`ended_at`, set by the stop in
 * the worker, on the same machine's clock); `late` counts those over `targetMs`.
 */
export async function detectionLatencies(
  engine: BenchEngine,
  workspaceId: string,
  appendedAt: Map<string, number>,
  targetMs: number,
): Promise<Latencies> {
  const { rows } = await engine.deps.db.execute<{ lead_id: string; ended_at: string }>(sql`
    select lead_id, ended_at from enrollments
    where workspace_id = ${workspaceId} and status = 'replied'`);
  const latencies = rows
    .flatMap((r) => {
      const appended = appendedAt.get(r.lead_id);
      return appended === undefined ? [] : [new Date(r.ended_at).getTime() - appended];
    })
    .sort((a, b) => a - b);
  return {
    count: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    late: latencies.filter((ms) => ms > targetMs).length,
  };
}

/** Replied enrollments, inbound messages stored and follow-ups sent in the workspace. */
export async function replyTally(engine: BenchEngine, workspaceId: string) {
  const { rows } = await engine.deps.db.execute<{ replied: number; inbound: number; followups: number }>(sql`
    select
      (select count(*)::int from enrollments where workspace_id = ${workspaceId} and status = 'replied') as replied,
      (select count(*)::int from messages where workspace_id = ${workspaceId} and direction = 'inbound') as inbound,
      (select count(*)::int from step_runs
        where workspace_id = ${workspaceId} and step_index > 0 and status = 'sent') as followups`);
  return rows[0] ?? { replied: 0, inbound: 0, followups: 0 };
}
