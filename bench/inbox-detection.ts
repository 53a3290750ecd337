import { sql } from 'drizzle-orm';
import { type Dovecot, startDovecot } from '../test/helpers/dovecot';
import { dueAtOnce, enrollFresh } from './burst-setup';
import { imapIdleCeiling } from './ceilings/imap-idle';
import { type Child, startChild } from './child';
import { type BenchEngine, startBenchEngine } from './engine';
import {
  appendReplies,
  detectionLatencies,
  type Latencies,
  replyOrder,
  replyTally,
  type SentThread,
  sentThreads,
} from './inbox-replies';
import { connectInboxes, INBOX_PASS, type InboxMailbox, inboxMailboxes, waitSynced } from './inbox-setup';
import { startInboxWorker, workerMemory } from './inbox-worker';
import { percentile } from './report';
import type { ScenarioContext } from './scenario';
import { activeSequence, type BenchWorkspace, benchWorkspace, lateness } from './seed';
import { type PerOperation, startUsage } from './usage';
import { waitUntil } from './wait';

/**
 * Two emails three days apart, both from one mailbox: within the run only a reply can end the
 * enrollment, and each mailbox gets the same number of leads.
 */
const stepsFrom = (mailboxId: string) => [
  {
    type: 'email',
    mailboxId,
    subject: 'Quick question',
    body: 'Hi {{ firstName }}, would a short call help?',
  },
  { type: 'wait', days: 3 },
  { type: 'email', mailboxId, subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

const PROBE_USER = 'probe@bench.test';

export type DetectionOptions = {
  /** A Dovecot with IDLE, or one without (the reader polls every `pollSeconds`). */
  idle: boolean;
  mailboxes: number;
  perMailbox: number;
  ratePerSecond: number;
  appendClients: number;
  /** INBOX_POLL_SECONDS for the worker; the engine's default when null. */
  pollSeconds: number | null;
  /** The p95 the run is held to; `late` counts the replies over it. */
  targetMs: number;
};

export type Detection = {
  replies: number;
  /** The steady flow: each reply's APPEND to its enrollment ended `replied`. */
  latency: Latencies;
  /**
   * Then one more reply to each inbox, which stays quiet after it: what a reply to a quiet inbox
   * waits, with no later message to wake the reader.
   */
  quiet: Latencies;
  /** The bare IDLE notification of the same server (IDLE runs only). */
  idleCeiling: Awaited<ReturnType<typeof imapIdleCeiling>> | null;
  appendMs: { p50: number; p95: number; max: number };
  /** How far the APPEND clients fell behind the steady schedule, at worst. */
  appendBehindMs: number;
  leadsPerMailbox: { min: number; max: number };
  /**
   * The worker's RSS once started (modules loaded, little work done), with the first emails sent, with
   * every inbox synced, and at worst while the replies flowed (sampled every second).
   */
  memory: {
    atStartMb: number;
    afterSendMb: number;
    afterSyncMb: number;
    peakRssMb: number;
    peakHeapUsedMb: number;
    /** At the end, after a full GC: how much of the peak was garbage not yet collected. */
    afterGc: { rssMb: number; heapUsedMb: number };
  };
  syncSeconds: number;
  flowSeconds: number;
  /** Statements and CPU (worker, Postgres) per reply while they flowed. */
  perReply: PerOperation;
  tally: { replied: number; inbound: number; followups: number; sinkReceived: number; inboxErrors: number };
};

/**
 * One detection run: `mailboxes` Dovecot accounts read by the engine's worker in its own process,
 * `perMailbox` + 1 leads each whose first email the worker sent for real (into the SMTP sink); one
 * reply per lead APPENDed at a steady rate, then, once all are stopped, one more reply to each inbox.
 * The figure is each reply's APPEND to its enrollment ended `replied`.
 */
export async function measureDetection(ctx: ScenarioContext, opts: DetectionOptions): Promise<Detection> {
  const dovecot = await startDovecot({ idle: opts.idle });
  try {
    // Every account exists before the first login: the IDLE probe's too.
    dovecot.addUser(PROBE_USER, INBOX_PASS);
    return await detect(ctx, opts, dovecot);
  } finally {
    // A daemon of its own, which `killChildren` does not know of: stopped whatever happened.
    await dovecot.stop();
  }
}

async function detect(ctx: ScenarioContext, opts: DetectionOptions, dovecot: Dovecot): Promise<Detection> {
  const label = opts.idle ? 'idle' : 'poll';
  const sink = await startChild('smtp-sink');
  const extra: Record<string, string> = opts.pollSeconds
    ? { INBOX_POLL_SECONDS: String(opts.pollSeconds) }
    : {};
  const stage = await ctx.env.stage(`inbox-${label}`, extra);
  const engine = await startBenchEngine(stage);
  let worker: Child | null = null;
  try {
    const ws = await benchWorkspace(engine.deps, `inbox-${label}`);
    const boxes = await inboxMailboxes(engine, ws, dovecot, { count: opts.mailboxes, smtpPort: sink.port });
    const leads = opts.mailboxes * (opts.perMailbox + 1);
    const { stepIndex } = await enrollPerMailbox(engine, ws, boxes, opts.perMailbox + 1);
    worker = await startInboxWorker(ctx.env.options, stage.env, `inbox-worker-${label}`);
    const atStart = await workerMemory(worker);
    await waitUntil(
      async () => (await lateness(engine.deps, { workspaceId: ws.id, stepIndex })).count >= leads,
      { timeoutMs: 5 * 60_000, intervalMs: 250, what: `${leads} first emails to be sent` },
    );
    const threads = await sentThreads(engine, ws.id);
    if (threads.length !== leads)
      throw new Error(`${threads.length} first emails recorded for ${leads} leads`);
    const byBox = boxes.map((b) => threads.filter((t) => t.mailboxId === b.id));
    const quietThreads = byBox.flatMap((list) => list.slice(-1));
    const flowThreads = threads.filter((t) => !quietThreads.includes(t));
    const afterSend = await workerMemory(worker);

    const connectedAt = await connectInboxes(engine, ws, dovecot, boxes);
    await waitSynced(engine, ws.id, boxes.length, connectedAt, 120_000);
    const syncSeconds = (Date.now() - connectedAt.getTime()) / 1000;
    const afterSync = await workerMemory(worker);
    ctx.log(
      `${label}: ${boxes.length} inboxes synced in ${syncSeconds.toFixed(1)} s; worker RSS ` +
        `${afterSend.rssMb} MB after sending, ${afterSync.rssMb} MB with the inboxes`,
    );
    const idleCeiling = opts.idle ? await idleProbe(dovecot) : null;
    if (idleCeiling) ctx.log(`${label}: bare IDLE hears an APPEND in p95 ${idleCeiling.p95Ms} ms`);

    const usage = await startUsage(worker, stage.databaseUrl);
    const peak = sampleMemory(worker, afterSync);
    const flowStart = Date.now();
    const flow = await ctx.phase(`replies-${label}`, () =>
      repliesStopped(engine, ws.id, dovecot, boxes, replyOrder(flowThreads, boxes), opts),
    );
    const flowSeconds = (Date.now() - flowStart) / 1000;
    const perReply = await usage.stop(flowThreads.length);
    // A pause, then one reply per inbox, slow enough that each inbox has only its own.
    await new Promise((r) => setTimeout(r, 2_000));
    const quiet = await repliesStopped(engine, ws.id, dovecot, boxes, quietThreads, {
      ...opts,
      ratePerSecond: Math.min(opts.ratePerSecond, 10),
    });
    const memory = { atStartMb: atStart.rssMb, afterSendMb: afterSend.rssMb, ...(await peak.stop()) };
    ctx.log(
      `${label}: p95 ${flow.latency.p95Ms} ms over the flow, ${quiet.latency.p95Ms} ms for a reply to a quiet inbox`,
    );
    return {
      replies: flowThreads.length,
      latency: flow.latency,
      quiet: quiet.latency,
      idleCeiling,
      appendMs: flow.appendMs,
      appendBehindMs: flow.behindMs,
      leadsPerMailbox: {
        min: Math.min(...byBox.map((l) => l.length)),
        max: Math.max(...byBox.map((l) => l.length)),
      },
      memory: { ...memory, afterSyncMb: afterSync.rssMb, afterGc: await workerMemory(worker, true) },
      syncSeconds: Number(syncSeconds.toFixed(1)),
      flowSeconds: Number(flowSeconds.toFixed(1)),
      perReply,
      tally: await tallyAll(engine, ws.id, sink),
    };
  } finally {
    await worker?.stop();
    await engine.close();
    await sink.stop();
    await stage.drop();
  }
}

/** One sequence per mailbox (its emails pinned to it), `perMailbox` fresh leads each, due at once. */
async function enrollPerMailbox(
  engine: BenchEngine,
  ws: BenchWorkspace,
  boxes: InboxMailbox[],
  perMailbox: number,
) {
  for (const [m, box] of boxes.entries()) {
    const sequenceId = await activeSequence(engine.app, ws.apiKey, {
      name: `inbox ${m}`,
      steps: stepsFrom(box.id),
    });
    await enrollFresh(engine, {
      workspaceId: ws.id,
      sequenceId,
      count: perMailbox,
      firstIndex: m * perMailbox,
    });
  }
  return dueAtOnce(engine, ws.id, boxes.length * perMailbox);
}

/** APPENDs one reply per thread, in order, and waits until every one of their leads has stopped. */
async function repliesStopped(
  engine: BenchEngine,
  workspaceId: string,
  dovecot: Dovecot,
  boxes: InboxMailbox[],
  order: SentThread[],
  opts: DetectionOptions,
) {
  const before = (await replyTally(engine, workspaceId)).replied;
  const log = await appendReplies(dovecot, boxes, order, {
    ratePerSecond: opts.ratePerSecond,
    clients: opts.appendClients,
  });
  await waitUntil(async () => (await replyTally(engine, workspaceId)).replied >= before + order.length, {
    timeoutMs: 60_000 + (opts.pollSeconds ?? 60) * 3_000,
    intervalMs: 200,
    what: `${order.length} more enrollments to end replied`,
  });
  const latency = await detectionLatencies(engine, workspaceId, log.appendedAt, opts.targetMs);
  const appendMs = log.appendMs.sort((a, b) => a - b);
  return {
    latency,
    appendMs: { p50: percentile(appendMs, 0.5), p95: percentile(appendMs, 0.95), max: appendMs.at(-1) ?? 0 },
    behindMs: log.behindMs,
  };
}

/** The bare IDLE notification latency of the same server, on an account no reader holds. */
const idleProbe = (dovecot: Dovecot) =>
  imapIdleCeiling({
    host: dovecot.host,
    port: dovecot.port,
    user: PROBE_USER,
    pass: INBOX_PASS,
    samples: 20,
  });

/** Samples the worker's memory every second until `stop`, which returns the peaks. */
function sampleMemory(worker: Child, from: { rssMb: number; heapUsedMb: number }) {
  const peak = { ...from };
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const m = await workerMemory(worker);
      peak.rssMb = Math.max(peak.rssMb, m.rssMb);
      peak.heapUsedMb = Math.max(peak.heapUsedMb, m.heapUsedMb);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    async stop() {
      sampling = false;
      await loop;
      return { peakRssMb: peak.rssMb, peakHeapUsedMb: peak.heapUsedMb };
    },
  };
}

async function tallyAll(engine: BenchEngine, workspaceId: string, sink: Child): Promise<Detection['tally']> {
  const tally = await replyTally(engine, workspaceId);
  const sent = await sink.request('count');
  const { rows } = await engine.deps.db.execute<{ errors: number }>(
    sql`select coalesce(sum(inbox_errors_total), 0)::int as errors from mailboxes where workspace_id = ${workspaceId}`,
  );
  return { ...tally, sinkReceived: Number(sent.received), inboxErrors: rows[0]?.errors ?? 0 };
}
