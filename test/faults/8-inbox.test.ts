import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, mailboxes, stepRuns } from '../../src/db/schema/index';
import { type Dovecot, startDovecot } from '../helpers/dovecot';
import { waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import {
  accountInbox,
  inboxCursor,
  addInboxMailbox,
  allStored,
  appendAll,
  connectInbox,
  expireLease,
  type InboxMail,
  moreSyncs,
  pidOfOwner,
  rawMessage,
  sampleLease,
  storedCount,
} from './support/inbox';
import { account, deliveriesPerRun, reachProgress, settle } from './support/ledger';
import { firstMessageIds } from './support/replies';
import { copySentMail } from './support/sent-folder';
import { type InboxRow, reportInbox, reportRows } from './support/summary';
import { type Cadence, type FaultWorld, sleep, startCadence, startFaultWorld } from './support/world';
import type { WorkerProcess } from './support/worker-process';

/** Every worker process of this file: a re-check of the inbox every 2 s besides IDLE, so settlement is prompt. */
const WORKER_ENV = { INBOX_POLL_SECONDS: '2' };

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Distinct processes among lease holders. */
const readersOf = (holders: string[]) => new Set(holders.map(pidOfOwner)).size;

describe('fault 8: inboxes read over IMAP while readers, connections and the server fail', () => {
  let world: FaultWorld;
  let dovecot: Dovecot;
  beforeAll(async () => {
    [world, dovecot] = await Promise.all([startFaultWorld(), startDovecot()]);
  });
  afterAll(async () => {
    await world?.close();
    await dovecot?.stop();
  });

  /** Stops a scenario's workers with SIGTERM, so their inbox leases are given back for the next one. */
  const stopAll = (workers: WorkerProcess[]) =>
    Promise.all(
      workers.map((w) => {
        // A worker a scenario froze must be able to hear SIGTERM.
        if (w.running()) process.kill(w.pid, 'SIGCONT');
        return w.terminate();
      }),
    );

  it('8a. two worker processes read one inbox while 200 replies arrive; its reader is frozen past its lease, later loses it mid-read', async (context) => {
    const workers = [await world.startWorker(WORKER_ENV), await world.startWorker(WORKER_ENV)];
    const inbox = await addInboxMailbox(world, dovecot, 'replies');
    await connectInbox(world, dovecot, inbox);
    const cadence = await startCadence(world, 200, { ws: inbox.ws, waitSeconds: 3600 });
    const firstIdOf = await firstMessageIds(world, cadence, { recorded: true });
    const mail: InboxMail[] = cadence.leads.map((lead) => {
      const messageId = `<reply-${lead.id}@lead.test>`;
      return {
        leadId: lead.id,
        messageId,
        raw: rawMessage(lead.email, inbox.user, messageId, { inReplyTo: firstIdOf.get(lead.email) }),
      };
    });
    const bursts = chunks(mail, 25);
    const append = (i: number, connections = 1) => appendAll(dovecot, inbox, bursts[i] ?? [], connections);
    const lease = sampleLease(world, inbox);
    const holder = (not?: WorkerProcess) =>
      waitFor(
        async () => {
          const owner = lease.current();
          return workers.find((w) => w !== not && owner !== null && w.pid === pidOfOwner(owner));
        },
        { timeoutMs: 30_000, what: 'a reader holding the inbox' },
      );
    try {
      await append(0);
      await append(1, 2);
      // The reader freezes (SIGSTOP, as a VM pause or a long stall) while it reads a burst, past its
      // lease: the other process takes the inbox over and mail keeps arriving; then it thaws mid-read.
      const frozen = await holder();
      const arriving = append(2);
      await sleep(100 + Math.floor(Math.random() * 200));
      process.kill(frozen.pid, 'SIGSTOP');
      await arriving;
      await expireLease(world, inbox);
      await holder(frozen);
      await append(3);
      await sleep(1000);
      process.kill(frozen.pid, 'SIGCONT');
      await append(4, 2);
      // The reader loses its lease while reading, awake: both read until its next renewal.
      await holder();
      const more = append(5, 2);
      await sleep(100 + Math.floor(Math.random() * 200));
      await expireLease(world, inbox);
      await more;
      await append(6);
      await append(7, 2);

      await allStored(world, inbox, mail);
      // Whatever a late reader would still store or act on twice, it has by now.
      await moreSyncs(world, inbox, 2);
    } finally {
      await lease.stop();
      await stopAll(workers);
    }
    const { row, problems } = await accountInbox(
      world,
      inbox,
      mail,
      '8a. 2 readers, 200 replies; reader frozen past its lease, another lost mid-read',
      readersOf(lease.holders()),
    );
    reportInbox(context, [row]);
    expect(problems).toEqual([]);
    expect(row).toMatchObject({ actedOn: 200, missed: 0, duplicates: 0 });
    // The freeze handed the inbox to the other process: both read it.
    expect(row.readers).toBe(2);
    const states = await world.engine.deps.db
      .select({ status: enrollments.status })
      .from(enrollments)
      .where(inArray(enrollments.id, cadence.enrollmentIds));
    expect(states.map((s) => s.status)).toEqual(states.map(() => 'replied'));
    // And nothing more went to a lead who replied.
    const ledger = await account(world, cadence, '');
    expect(ledger.problems).toEqual([]);
    expect(ledger.row).toMatchObject({ sent: 200, duplicates: 0, ambiguous: 0, lost: 0 });
  });

  it('8b. a 500-message backlog over a month of history, read while the IMAP sessions are killed, Dovecot restarts and the folder is renumbered', async (context) => {
    const inbox = await addInboxMailbox(world, dovecot, 'backlog');
    const leads = await insertLeads(world.engine.deps.db, inbox.ws.id, 1020);
    const tag = Math.random().toString(36).slice(2, 8);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000);
    const mailOf = (lead: { id: string; email: string | null }, name: string, date?: Date): InboxMail => {
      const messageId = `<${name}-${tag}@lead.test>`;
      return {
        leadId: lead.id,
        messageId,
        raw: rawMessage(lead.email ?? '', inbox.user, messageId, { date }),
      };
    };
    // Replies from a month before the inbox was connected: its history, which the reader never reads
    // (it starts two days before the mailbox was created).
    const history = leads.slice(0, 20).map((lead, i) => mailOf(lead, `old-${i}`, monthAgo));
    const mail = leads.slice(20).map((lead, i) => mailOf(lead, `msg-${i}`));
    const rows: InboxRow[] = [];
    const workers = [await world.startWorker(WORKER_ENV), await world.startWorker(WORKER_ENV)];
    const lease = sampleLease(world, inbox);
    const settled = async (upTo: number, scenario: string) => {
      const expected = mail.slice(0, upTo);
      await allStored(world, inbox, expected);
      await moreSyncs(world, inbox, 2);
      const { row, problems } = await accountInbox(
        world,
        inbox,
        expected,
        scenario,
        readersOf(lease.holders()),
      );
      rows.push(row);
      return problems;
    };
    const problems: string[][] = [];
    const kills: string[] = [];
    try {
      for (const m of history) await dovecot.append(inbox.user, inbox.pass, m.raw, 'INBOX', monthAgo);
      await connectInbox(world, dovecot, inbox);
      await moreSyncs(world, inbox, 1);
      // The workers are down (a deploy) while 500 replies arrive: the next reader finds them all at once.
      await stopAll(workers.splice(0));
      await appendAll(dovecot, inbox, mail.slice(0, 500), 4);
      workers.push(await world.startWorker(WORKER_ENV), await world.startWorker(WORKER_ENV));
      const backlog = mail.slice(0, 500);
      const stored = await waitFor(
        async () => {
          const n = await storedCount(world, inbox, backlog);
          return n >= 100 ? n : false;
        },
        { timeoutMs: 60_000, intervalMs: 20, what: 'the first batch of the backlog stored' },
      );
      dovecot.killSessions();
      kills.push(`mid-backlog (${stored} of 500 stored)`);
      await appendAll(dovecot, inbox, mail.slice(500, 600), 2);
      problems.push(await settled(600, '8b.1 IMAP sessions killed mid-read of a 500 backlog, +100'));

      await appendAll(dovecot, inbox, mail.slice(600, 700), 2);
      await dovecot.restart();
      await appendAll(dovecot, inbox, mail.slice(700, 800), 2);
      problems.push(await settled(800, '8b.2 Dovecot restarted, +200'));

      const before = await inboxCursor(world, inbox);
      await appendAll(dovecot, inbox, mail.slice(800, 900), 2);
      await dovecot.resetUidValidity(inbox.user);
      // And killed again as the resync under the new UIDVALIDITY starts.
      const resync = await waitFor(
        async () => {
          const cursor = await inboxCursor(world, inbox);
          return cursor && cursor.uidValidity !== before?.uidValidity ? cursor : false;
        },
        { timeoutMs: 60_000, intervalMs: 10, what: 'the resync to start' },
      );
      dovecot.killSessions();
      kills.push(`as the resync started (its cursor at UID ${resync.lastUid})`);
      await appendAll(dovecot, inbox, mail.slice(900, 1000), 2);
      problems.push(
        await settled(1000, '8b.3 UIDVALIDITY reset, sessions killed as the resync starts, +200'),
      );
    } finally {
      await lease.stop();
      await stopAll(workers);
    }
    reportInbox(context, rows);
    const [status] = await world.engine.deps.db
      .select({ errors: mailboxes.inboxErrorsTotal })
      .from(mailboxes)
      .where(eq(mailboxes.id, inbox.mailboxId));
    console.info(`8b: IMAP sessions killed ${kills.join('; ')}; inbox errors shown: ${status?.errors}`);
    // Rows are cumulative: a message wrongly read shows in each row after it, but once here.
    expect([...new Set(problems.flat())]).toEqual([]);
    for (const row of rows)
      expect(row).toMatchObject({ actedOn: row.expected, missed: 0, duplicates: 0, unexpected: 0 });
  });

  it('8c. ambiguous sends: the worker SIGKILLed 4 times while 2 × 40 leads get 3 emails; one mailbox files sent mail in Sent, the other does not', async (context) => {
    const gmail = await addInboxMailbox(world, dovecot, 'gmail');
    const plain = await addInboxMailbox(world, dovecot, 'plain');
    await connectInbox(world, dovecot, gmail);
    await connectInbox(world, dovecot, plain);
    const copier = await copySentMail(world.sink, dovecot, gmail);
    // The server takes a while to answer the final dot (Gmail scans what it accepts): a kill then
    // lands after the server accepted the message and before the worker heard so.
    world.proxy.setFault(() => ({ delayMs: 400 }));
    let worker = await world.startWorker(WORKER_ENV);
    const workers = [worker];
    const a = await startCadence(world, 40, { ws: gmail.ws, waitSeconds: 3 });
    const b = await startCadence(world, 40, { ws: plain.ws, waitSeconds: 3 });
    try {
      const both = {
        ...a,
        leads: [...a.leads, ...b.leads],
        enrollmentIds: [...a.enrollmentIds, ...b.enrollmentIds],
      };
      for (const share of [0.1, 0.3, 0.5, 0.7]) {
        await reachProgress(world, both, share);
        await sleep(Math.floor(Math.random() * 100));
        expect((await worker.crash()).signal).toBe('SIGKILL');
        worker = await world.startWorker(WORKER_ENV);
        workers.push(worker);
      }
      await settle(world, both);
      // Every run the kills left ambiguous exists now, and its copy (if any) is filed: two more syncs
      // of each inbox have looked each one up (a killed reader's inboxes are taken over after its lease).
      await copier.flushed();
      await Promise.all([moreSyncs(world, gmail, 2, 150_000), moreSyncs(world, plain, 2, 150_000)]);
      // The runs settled as sent moved their cadences on: those steps run to their end too.
      await settle(world, both);
    } finally {
      world.proxy.setFault(() => 'pass');
      await copier.stop();
      await stopAll(workers);
    }
    const filed = await settlementOf(world, a, '8c. worker SIGKILL ×4, 40 leads: inbox read, Sent filed');
    const nowhere = await settlementOf(world, b, '8c. worker SIGKILL ×4, 40 leads: inbox read, no Sent copy');
    reportRows(context, [filed.row, nowhere.row]);
    console.info(`8c: ${copier.copied()} messages filed in the Gmail-like mailbox's Sent folder`);

    for (const side of [filed, nowhere]) {
      expect(side.problems).toEqual([]);
      expect(side.row.duplicates).toBe(0);
      expect(side.row.lost).toBe(0);
    }
    // The kills left sends ambiguous in the mailbox that files them in Sent, and each one the server
    // accepted was found there and settled as sent: none waits for an operator.
    expect(filed.row.settledFromMailbox).toBeGreaterThan(0);
    expect(filed.row.ambiguousAccepted).toBe(0);
    // (Those still ambiguous there never reached the server: there is nothing anywhere to find.)
    expect(filed.resolved).toHaveLength(filed.settledRuns.length);
    for (const e of filed.resolved) expect(e.data).toMatchObject({ outcome: 'sent', by: 'sent_folder' });
    // The other mailbox's accepted sends are nowhere in it: they stay ambiguous, for an operator.
    expect(nowhere.row.ambiguousAccepted).toBeGreaterThan(0);
    expect(nowhere.row.settledFromMailbox).toBe(0);
    expect(nowhere.resolved).toEqual([]);
  });
});

/**
 * A cadence's ledger row with the runs the inbox reader settled from the mailbox, their
 * `step.resolved` events, and the runs still ambiguous although the SMTP server accepted their message.
 */
async function settlementOf(world: FaultWorld, cadence: Cadence, scenario: string) {
  const db = world.engine.deps.db;
  const delivered = deliveriesPerRun(world);
  const runs = await db
    .select({ id: stepRuns.id, status: stepRuns.status, reason: stepRuns.reason })
    .from(stepRuns)
    .where(inArray(stepRuns.enrollmentId, cadence.enrollmentIds));
  const resolved = await db
    .select({ stepRunId: events.stepRunId, data: events.data })
    .from(events)
    .where(
      and(
        eq(events.type, 'step.resolved'),
        inArray(
          events.stepRunId,
          runs.map((r) => r.id),
        ),
      ),
    );
  const settledRuns = runs.filter((r) => r.reason === 'found_in_sent_folder');
  const { row, problems } = await account(world, cadence, scenario);
  row.settledFromMailbox = settledRuns.length;
  row.ambiguousAccepted = runs.filter(
    (r) => r.status === 'ambiguous' && (delivered.get(r.id) ?? 0) > 0,
  ).length;
  return { row, problems, settledRuns, resolved };
}
