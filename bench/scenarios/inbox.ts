import { type BacklogRun, measureBacklog } from '../inbox-backlog';
import { type Detection, type DetectionOptions, measureDetection } from '../inbox-detection';
import type { Latencies } from '../inbox-replies';
import { type Figure, type Row, throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario } from '../scenario';

/** The worker's memory ceiling (issue 23), stated rather than measured. */
const RSS_CEILING_MB = 300;
/** The poll interval of the run without IDLE. */
const POLL_SECONDS = 5;
/** p95 from APPEND to the enrollment stopped: 5 s with IDLE, the poll interval + 5 s without. */
const IDLE_TARGET_MS = 5_000;
const POLL_TARGET_MS = (POLL_SECONDS + 5) * 1000;

/**
 * Inbox reading over IMAP against a real Dovecot (issue 23, "Numbers"): how soon a reply APPENDed to
 * an inbox ends its lead's enrollment, with IDLE and without it; how fast a 10,000-message backlog is
 * ingested against a bare imapflow fetch of the same messages; and the RSS of a worker holding 50
 * IMAP sessions.
 */
export const inboxScenario: Scenario = {
  name: 'inbox',
  async run(ctx) {
    const quick = ctx.env.options.quick;
    const shape = {
      mailboxes: quick ? 10 : 50,
      perMailbox: quick ? 10 : 20,
      ratePerSecond: 20,
      appendClients: 4,
    };
    const backlogCount = quick ? 1_000 : 10_000;
    const idleRun: DetectionOptions = { ...shape, idle: true, pollSeconds: null, targetMs: IDLE_TARGET_MS };
    ctx.log(`detection with IDLE: ${shape.mailboxes} mailboxes × ${shape.perMailbox} replies`);
    const idle = checked(await measureDetection(ctx, idleRun), shape.mailboxes);
    ctx.log(`detection without IDLE, polling every ${POLL_SECONDS} s`);
    const pollRun = { ...idleRun, idle: false, pollSeconds: POLL_SECONDS, targetMs: POLL_TARGET_MS };
    const poll = checked(await measureDetection(ctx, pollRun), shape.mailboxes);
    ctx.log(`backlog: ${backlogCount} messages before the inbox is connected`);
    const backlog = checkedBacklog(await measureBacklog(ctx, backlogCount));
    return {
      rows: inboxRows(shape.mailboxes, idle, poll, backlog),
      details: {
        shape: { ...shape, pollSeconds: POLL_SECONDS },
        detectionIdle: idle,
        detectionPoll: poll,
        backlog: {
          ...backlog,
          bare: {
            ...backlog.bare,
            seconds: round(backlog.bare.seconds, 3),
            perSecond: round(backlog.bare.perSecond),
          },
          ingest: {
            ...backlog.ingest,
            seconds: round(backlog.ingest.seconds, 3),
            perSecond: round(backlog.ingest.perSecond),
          },
          fetchAndParse: roundThroughput(backlog.fetchAndParse),
          headerQuery: roundThroughput(backlog.headerQuery),
          ratio: round(backlog.bare.seconds / backlog.ingest.seconds, 3),
        },
      },
    };
  },
};

function inboxRows(mailboxes: number, idle: Detection, poll: Detection, backlog: BacklogRun): Row[] {
  const replies = `${idle.replies.toLocaleString('en-US')} replies / ${mailboxes} mailboxes`;
  const idleCeiling = idle.idleCeiling
    ? { ...seconds(idle.idleCeiling.p95Ms), what: 'bare IDLE hears the APPEND, p95' }
    : null;
  const pollCeiling = { ...seconds(POLL_SECONDS * 1000), what: 'poll interval' };
  return [
    detectionRow(
      `inbox reply → stopped, IDLE, p95 over ${replies}`,
      idle.latency,
      IDLE_TARGET_MS,
      idleCeiling,
    ),
    detectionRow(
      `inbox reply → stopped, IDLE, quiet inbox (one reply, then nothing), p95 over ${mailboxes}`,
      idle.quiet,
      IDLE_TARGET_MS,
      idleCeiling,
    ),
    detectionRow(
      `inbox reply → stopped, no IDLE (poll ${POLL_SECONDS} s), p95 over ${replies}`,
      poll.latency,
      POLL_TARGET_MS,
      pollCeiling,
    ),
    throughputRow(
      `inbox backlog, ${backlog.count.toLocaleString('en-US')} on first sync`,
      perSecond(backlog.ingest.perSecond),
      { ...perSecond(backlog.bare.perSecond), what: 'bare imapflow fetch' },
      0.5,
    ),
    {
      scenario: 'inbox backlog vs a bare fetch that parses each message',
      engine: perSecond(backlog.ingest.perSecond),
      ceiling: { ...perSecond(backlog.fetchAndParse.perSecond), what: 'bare fetch + mailparser' },
      ratio: backlog.ingest.perSecond / backlog.fetchAndParse.perSecond,
      target: '—',
      met: null,
    },
    {
      scenario: "inbox backlog vs a bare fetch of the reader's header query (no bodies)",
      engine: perSecond(backlog.ingest.perSecond),
      ceiling: {
        ...perSecond(backlog.headerQuery.perSecond),
        what: 'bare fetch: UID, size, date, BODYSTRUCTURE, 13 header fields',
      },
      ratio: backlog.ingest.perSecond / backlog.headerQuery.perSecond,
      target: '—',
      met: null,
    },
    {
      scenario: `worker RSS reading ${mailboxes} inboxes (peak, replies flowing)`,
      engine: { value: idle.memory.peakRssMb, unit: 'MB' },
      ceiling: { value: RSS_CEILING_MB, unit: 'MB', what: 'stated, issue 23' },
      ratio: idle.memory.peakRssMb / RSS_CEILING_MB,
      target: `≤ ${RSS_CEILING_MB} MB`,
      met: idle.memory.peakRssMb <= RSS_CEILING_MB,
    },
  ];
}

const seconds = (ms: number) => ({ value: ms / 1000, unit: 's' });

/** A detection p95 against its reference (lower is better) and the target. */
function detectionRow(
  scenario: string,
  latency: Latencies,
  targetMs: number,
  ceiling: (Figure & { what: string }) | null,
): Row {
  return {
    scenario,
    engine: seconds(latency.p95Ms),
    ceiling,
    ratio: ceiling ? latency.p95Ms / 1000 / ceiling.value : null,
    target: `≤ ${targetMs / 1000} s`,
    met: latency.p95Ms <= targetMs,
  };
}

/** Every reply stopped its lead, was stored once, and no follow-up went out: else the run is an error. */
function checked(run: Detection, mailboxes: number): Detection {
  const t = run.tally;
  const all = run.replies + mailboxes;
  if (
    t.replied !== all ||
    t.inbound !== all ||
    t.followups !== 0 ||
    run.latency.count !== run.replies ||
    run.quiet.count !== mailboxes
  )
    throw new Error(
      `detection: ${t.replied} of ${all} enrollments replied, ${t.inbound} inbound stored, ` +
        `${t.followups} follow-ups sent, ${run.latency.count} + ${run.quiet.count} latencies`,
    );
  return run;
}

/** Every message not the mailbox's own stored exactly once, and every lead's reply stopped its lead. */
function checkedBacklog(run: BacklogRun): BacklogRun {
  const s = run.stored;
  const sync = run.ingest.sync;
  if (
    s.inbound !== s.expected ||
    s.distinctMessageIds !== s.expected ||
    s.replied !== run.mix.fromLeads ||
    sync.fetched !== run.count ||
    sync.failed !== 0
  )
    throw new Error(
      `backlog: ${s.inbound} inbound rows (${s.distinctMessageIds} distinct) for ${s.expected} expected, ` +
        `${s.replied} of ${run.mix.fromLeads} leads replied, sync ${JSON.stringify(sync)}`,
    );
  return run;
}
