import { sql } from 'drizzle-orm';
import { startDovecot } from '../test/helpers/dovecot';
import { dueAtOnce, enrollFresh } from './burst-setup';
import { imapIdleCeiling } from './ceilings/imap-idle';
import { type Child, startChild } from './child';
import { startBenchEngine } from './engine';
import {
  appendReplies,
  detectionLatencies,
  type Latencies,
  replyOrder,
  replyTally,
  sentThreads,
} from './inbox-replies';
import { connectInboxes, INBOX_PASS, inboxMailboxes, waitSynced } from './inbox-setup';
import { startInboxWorker, workerMemory } from './inbox-worker';
import { percentile } from './report';
import type { ScenarioContext } from './scenario';
import { activeSequence, benchWorkspace, lateness } from './seed';
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
  latency: Latencies;
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
 * `perMailbox` leads each whose first email the worker sent for real (into the SMTP sink), then one
 * reply per lead APPENDed at a steady rate; the figure is each reply's APPEND to its enrollment
 * ended `replied`.
 */
export async function measureDetection(ctx: ScenarioContext, opts: DetectionOptions): Promise<Detection> {
  const label = opts.idle ? 'idle' : 'poll';
  const count = opts.mailboxes * opts.perMailbox;
  const dovecot = await startDovecot({ idle: opts.idle });
  // Every account exists before the first login: the IDLE probe's too.
  dovecot.addUser(PROBE_USER, INBOX_PASS);
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
    for (const [m, box] of boxes.entries()) {
      const sequenceId = await activeSequence(engine.app, ws.apiKey, {
        name: `inbox ${m}`,
        steps: stepsFrom(box.id),
      });
      await enrollFresh(engine, {
        workspaceId: ws.id,
        sequenceId,
        count: opts.perMailbox,
        firstIndex: m * opts.perMailbox,
      });
    }
    const { stepIndex } = await dueAtOnce(engine, ws.id, count);
    worker = await startInboxWorker(ctx.env.options, stage.env, `inbox-worker-${label}`);
    const atStart = await workerMemory(worker);
    await waitUntil(
      async () => (await lateness(engine.deps, { workspaceId: ws.id, stepIndex })).count >= count,
      {
        timeoutMs: 5 * 60_000,
        intervalMs: 250,
        what: `${count} first emails to be sent`,
      },
    );
    const threads = await sentThreads(engine, ws.id);
    if (threads.length !== count)
      throw new Error(`${threads.length} first emails recorded for ${count} leads`);
    const perBox = boxes.map((b) => threads.filter((t) => t.mailboxId === b.id).length);
    const afterSend = await workerMemory(worker);

    const connectedAt = await connectInboxes(engine, ws, dovecot, boxes);
    await waitSynced(engine, ws.id, boxes.length, connectedAt, 120_000);
    const syncSeconds = (Date.now() - connectedAt.getTime()) / 1000;
    const afterSync = await workerMemory(worker);
    ctx.log(
      `${label}: ${boxes.length} inboxes synced in ${syncSeconds.toFixed(1)} s; worker RSS ` +
        `${afterSend.rssMb} MB after sending, ${afterSync.rssMb} MB with the inboxes`,
    );
    let idleCeiling: Detection['idleCeiling'] = null;
    if (opts.idle) {
      idleCeiling = await imapIdleCeiling({
        host: dovecot.host,
        port: dovecot.port,
        user: PROBE_USER,
        pass: INBOX_PASS,
        samples: 20,
      });
      ctx.log(`${label}: bare IDLE hears an APPEND in p95 ${idleCeiling.p95Ms} ms`);
    }

    const usage = await startUsage(worker, stage.databaseUrl);
    const peak = { rssMb: afterSync.rssMb, heapUsedMb: afterSync.heapUsedMb };
    let sampling = true;
    const sampler = (async (w: Child) => {
      while (sampling) {
        const m = await workerMemory(w);
        peak.rssMb = Math.max(peak.rssMb, m.rssMb);
        peak.heapUsedMb = Math.max(peak.heapUsedMb, m.heapUsedMb);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })(worker);
    const flowStart = Date.now();
    const log = await ctx.phase(`replies-${label}`, async () => {
      const appended = await appendReplies(dovecot, boxes, replyOrder(threads, boxes), {
        ratePerSecond: opts.ratePerSecond,
        clients: opts.appendClients,
      });
      await waitUntil(async () => (await replyTally(engine, ws.id)).replied >= count, {
        timeoutMs: 60_000 + (opts.pollSeconds ?? 60) * 3_000,
        intervalMs: 200,
        what: `${count} enrollments to end replied`,
      });
      return appended;
    });
    const flowSeconds = (Date.now() - flowStart) / 1000;
    sampling = false;
    await sampler;
    const perReply = await usage.stop(count);
    const afterGc = await workerMemory(worker, true);
    const latency = await detectionLatencies(engine, ws.id, log.appendedAt, opts.targetMs);
    const tally = await replyTally(engine, ws.id);
    const sinkCount = await sink.request('count');
    const { rows } = await engine.deps.db.execute<{ errors: number }>(
      sql`select coalesce(sum(inbox_errors_total), 0)::int as errors from mailboxes where workspace_id = ${ws.id}`,
    );
    const appendMs = log.appendMs.sort((a, b) => a - b);
    return {
      replies: count,
      latency,
      idleCeiling,
      appendMs: {
        p50: percentile(appendMs, 0.5),
        p95: percentile(appendMs, 0.95),
        max: appendMs.at(-1) ?? 0,
      },
      appendBehindMs: log.behindMs,
      leadsPerMailbox: { min: Math.min(...perBox), max: Math.max(...perBox) },
      memory: {
        atStartMb: atStart.rssMb,
        afterSendMb: afterSend.rssMb,
        afterSyncMb: afterSync.rssMb,
        peakRssMb: peak.rssMb,
        peakHeapUsedMb: peak.heapUsedMb,
        afterGc,
      },
      syncSeconds: Number(syncSeconds.toFixed(1)),
      flowSeconds: Number(flowSeconds.toFixed(1)),
      perReply,
      tally: {
        ...tally,
        sinkReceived: Number(sinkCount.received),
        inboxErrors: rows[0]?.errors ?? 0,
      },
    };
  } finally {
    await worker?.stop();
    await engine.close();
    await sink.stop();
    await stage.drop();
    await dovecot.stop();
  }
}
