import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { leads, linkedinAccounts, linkedinActions, mailboxes, sequences } from '../../db/schema/index';
import { dayBounds } from '../../channels/email/capacity';
import { recountDay } from '../../channels/email/reservation';
import type { ActionKind } from '../../channels/linkedin/limits';
import { workspaceCalendar } from '../../engine/advance';
import type { LeadRow } from '../../engine/channel';
import { requirementsFor, skipReason } from '../../engine/enroll';
import { suppressedLeadIds } from '../../engine/suppressions';
import { loadVersion } from '../../engine/versions';
import { HttpError } from '../http/errors';
import { type Assume, MAX_SIMULATED_EVENTS, type SimResult, SimulationTooLarge, simulate } from './simulate';

/** The most leads one simulation takes (the same bound as one enrollment call). */
export const MAX_SIMULATED_LEADS = 10_000;
/** Other enrollments' scheduled emails read as booked capacity, at most. */
const MAX_BOOKED_RUNS = 200_000;

export type SimulateRequest = {
  leadIds?: string[];
  filter?: { stage?: string; status?: string };
  sample?: number;
  start?: Date;
  seed?: string;
  version?: number;
  assume?: Partial<Assume>;
};

export type SimulateOutcome = SimResult & {
  sequenceId: string;
  version: number;
  start: string;
  seed: string;
  assume: Assume;
  skipped: { leadId: string; reason: string }[];
};

const invalid = (path: string, message: string, extra: Record<string, unknown> = {}) =>
  new HttpError(400, 'validation_failed', `${path}: ${message}`, [{ path, message, ...extra }]);

/**
 * Reads what a simulation starts from (the version, the leads, the workspace's calendar, its
 * mailboxes and accounts with what they already have booked) and runs it. Writes nothing.
 */
export async function simulateSequence(
  deps: Pick<Deps, 'db'>,
  workspaceId: string,
  sequenceId: string,
  req: SimulateRequest,
): Promise<SimulateOutcome | null> {
  const { db } = deps;
  const [sequence] = await db
    .select({ id: sequences.id, currentVersion: sequences.currentVersion, status: sequences.status })
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return null;
  // Enrollment refuses an archived sequence, so nothing of it would run. A draft or paused one is
  // simulated as if it ran: that is what one asks before activating or resuming it.
  if (sequence.status === 'archived')
    throw new HttpError(409, 'sequence_archived', 'the sequence is archived');
  const version = req.version ?? sequence.currentVersion;
  const definition = await loadVersion(db, sequence.id, version);
  if (!definition) throw invalid('body.version', `the sequence has no version ${version}`);

  const chosen = [req.leadIds, req.filter, req.sample].filter((v) => v !== undefined).length;
  if (chosen !== 1) throw invalid('body', 'give exactly one of leadIds, filter or sample');
  const start = req.start ?? new Date();
  const seed = req.seed ?? 'default';
  const assume: Assume = {
    replyRate: req.assume?.replyRate ?? 0,
    connectRate: req.assume?.connectRate ?? 1,
    bounceRate: req.assume?.bounceRate ?? 0,
    openRate: req.assume?.openRate ?? 0,
  };

  const batch = await selectLeads(deps, workspaceId, req, seed);
  const { workspaceTimezone, workspaceCountry } = await workspaceCalendar(db, workspaceId);

  // The same rules enrollment applies: who would be skipped, and why.
  const live = await db.execute<{ lead_id: string }>(sql`
    select lead_id from enrollments
    where sequence_id = ${sequenceId} and lead_id = any(${sql.param(batch.map((l) => l.id))}::uuid[])
      and status in ('active', 'paused')`);
  const already = new Set(live.rows.map((r) => r.lead_id));
  const suppressed = await suppressedLeadIds(db, workspaceId, batch);
  const needs = requirementsFor(definition);
  const skipped: { leadId: string; reason: string }[] = [];
  const accepted: LeadRow[] = [];
  for (const lead of batch) {
    const reason = already.has(lead.id) ? 'already_enrolled' : skipReason(lead, needs(lead), suppressed);
    if (reason) skipped.push({ leadId: lead.id, reason });
    else accepted.push(lead);
  }

  const boxes = await db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')));
  const counted = await recountDay(
    db,
    boxes.map((m) => m.id),
    dayBounds(start, workspaceTimezone),
  );
  const accountRows = await db
    .select()
    .from(linkedinAccounts)
    .where(and(eq(linkedinAccounts.workspaceId, workspaceId), isNull(linkedinAccounts.deletedAt)));
  const actions =
    accountRows.length === 0
      ? []
      : await db
          .select({
            accountId: linkedinActions.accountId,
            kind: linkedinActions.kind,
            at: linkedinActions.at,
          })
          .from(linkedinActions)
          .where(
            and(
              inArray(
                linkedinActions.accountId,
                accountRows.map((a) => a.id),
              ),
              sql`${linkedinActions.at} > ${new Date(start.getTime() - 7 * 86_400_000)}::timestamptz`,
            ),
          );
  const booked = await db.execute<{ run_at: string; mailbox_id: string | null }>(sql`
    select sr.run_at, e.mailbox_id from step_runs sr join enrollments e on e.id = sr.enrollment_id
    where sr.workspace_id = ${workspaceId} and sr.status = 'scheduled' and sr.step_type = 'email'
      and e.status = 'active'
    order by sr.run_at limit ${MAX_BOOKED_RUNS}`);

  let result: SimResult;
  try {
    result = await simulate({
      definition,
      leads: accepted,
      start,
      seed,
      assume,
      workspaceTimezone,
      workspaceCountry,
      mailboxes: boxes.map((m) => ({ ...m, bookedToday: counted.get(m.id) ?? 0 })),
      accounts: accountRows.map((a) => ({
        ...a,
        actions: actions
          .filter((x) => x.accountId === a.id)
          .map((x) => ({ kind: x.kind as ActionKind, at: x.at })),
      })),
      booked: booked.rows.map((r) => ({ at: new Date(r.run_at), mailboxId: r.mailbox_id })),
    });
  } catch (err) {
    if (!(err instanceof SimulationTooLarge)) throw err;
    throw new HttpError(
      400,
      'simulation_too_large',
      `the simulation needs more than ${MAX_SIMULATED_EVENTS.toLocaleString('en')} events (leads, their steps, and the workspace's scheduled emails put off day after day): simulate fewer leads`,
    );
  }
  return {
    sequenceId,
    version,
    start: start.toISOString(),
    seed,
    assume,
    skipped,
    ...result,
  };
}

async function selectLeads(
  deps: Pick<Deps, 'db'>,
  workspaceId: string,
  req: SimulateRequest,
  seed: string,
): Promise<LeadRow[]> {
  const { db } = deps;
  const mine = and(eq(leads.workspaceId, workspaceId), isNull(leads.erasedAt));
  if (req.leadIds) {
    const unique = [...new Set(req.leadIds)];
    const rows = await db
      .select()
      .from(leads)
      .where(and(mine, sql`${leads.id} = any(${sql.param(unique)}::uuid[])`));
    const found = new Set(rows.map((r) => r.id));
    const missing = req.leadIds.flatMap((id, i) => (found.has(id) ? [] : [{ id, i }]));
    if (missing.length > 0) {
      // A lead of another workspace is indistinguishable from one that does not exist.
      throw new HttpError(
        404,
        'leads_not_found',
        `${missing.length} lead(s) not found in this workspace: ${missing
          .slice(0, 5)
          .map((m) => m.id)
          .join(', ')}${missing.length > 5 ? ', …' : ''}`,
        missing
          .slice(0, 100)
          .map((m) => ({ path: `body.leadIds.${m.i}`, message: 'lead not found', leadId: m.id })),
      );
    }
    return rows;
  }
  if (req.filter) {
    const where = and(
      mine,
      req.filter.stage ? eq(leads.stage, req.filter.stage) : undefined,
      req.filter.status ? eq(leads.status, req.filter.status as LeadRow['status']) : undefined,
    );
    const rows = await db
      .select()
      .from(leads)
      .where(where)
      .orderBy(leads.id)
      .limit(MAX_SIMULATED_LEADS + 1);
    if (rows.length > MAX_SIMULATED_LEADS)
      throw new HttpError(
        400,
        'too_many_leads',
        `body.filter: matches more than ${MAX_SIMULATED_LEADS} leads; narrow it or use sample`,
        [
          {
            path: 'body.filter',
            message: `matches more than ${MAX_SIMULATED_LEADS} leads`,
            limit: MAX_SIMULATED_LEADS,
          },
        ],
      );
    return rows;
  }
  // A sample: the same leads for the same seed, spread over the workspace's active leads.
  return db
    .select()
    .from(leads)
    .where(and(mine, eq(leads.status, 'active')))
    .orderBy(sql`md5(${leads.id}::text || ${seed})`)
    .limit(req.sample ?? 0);
}
