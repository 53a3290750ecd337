import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { effectiveLimits, usageByAccount } from '../../channels/linkedin/limits';
import { type StoredSession, sessionFromLiAt } from '../../channels/linkedin/session';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { keyset } from '../../db/keyset';
import { linkedinAccounts, linkedinActions } from '../../db/schema/index';
import { decodeCursor, type PageQuery, toPage } from '../../http/schemas';
import { recordEvent } from '../events/events.service';
import type {
  CreateLinkedInAccountBody,
  LinkedInAccount,
  UpdateLinkedInAccountBody,
} from './linkedin.schemas';

type ServiceDeps = Pick<Deps, 'db' | 'secrets'>;
export type LinkedInAccountRow = typeof linkedinAccounts.$inferSelect;

function sealSession(deps: ServiceDeps, body: { cookies?: StoredSession['cookies']; liAt?: string }) {
  if (body.cookies) return deps.secrets.encrypt(JSON.stringify({ cookies: body.cookies }));
  if (body.liAt) return deps.secrets.encrypt(JSON.stringify(sessionFromLiAt(body.liAt)));
  return undefined;
}

/** The API view: never the session, always the effective limits and current usage. */
async function toViews(deps: ServiceDeps, rows: LinkedInAccountRow[]): Promise<LinkedInAccount[]> {
  const usage = await usageByAccount(
    deps.db,
    rows.map((r) => r.id),
    new Date(),
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    statusReason: r.statusReason,
    limits: effectiveLimits(r.limits),
    workingHours: r.workingHours ?? null,
    usage: usage.get(r.id) ?? { invites: 0, messages: 0, visits: 0 },
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  }));
}

async function toView(deps: ServiceDeps, row: LinkedInAccountRow): Promise<LinkedInAccount> {
  const [view] = await toViews(deps, [row]);
  if (!view) throw new Error('account view missing');
  return view;
}

const live = (workspaceId: string) =>
  and(eq(linkedinAccounts.workspaceId, workspaceId), isNull(linkedinAccounts.deletedAt));

export async function createAccount(
  deps: ServiceDeps,
  workspaceId: string,
  body: CreateLinkedInAccountBody,
): Promise<LinkedInAccount> {
  const sessionEnc = sealSession(deps, body);
  if (!sessionEnc) throw new Error('validated body has no session');
  const [row] = await deps.db
    .insert(linkedinAccounts)
    .values({
      workspaceId,
      name: body.name,
      sessionEnc,
      limits: effectiveLimits(body.limits),
      workingHours: body.workingHours ?? null,
    })
    .returning();
  if (!row) throw new Error('account insert returned nothing');
  return toView(deps, row);
}

/** Accounts oldest first: the order they were connected in. */
export async function listAccounts(deps: ServiceDeps, workspaceId: string, query: PageQuery) {
  const page = keyset(linkedinAccounts.createdAt, linkedinAccounts.id, decodeCursor(query.cursor), 'asc');
  const rows = await deps.db
    .select()
    .from(linkedinAccounts)
    .where(and(live(workspaceId), page.where))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  const found = toPage(rows, query.limit, (row) => row);
  return { data: await toViews(deps, found.data), nextCursor: found.nextCursor };
}

/** A live (not deleted) account of the workspace, or null. */
export async function findAccount(
  db: DbOrTx,
  workspaceId: string,
  accountId: string,
): Promise<LinkedInAccountRow | null> {
  const [row] = await db
    .select()
    .from(linkedinAccounts)
    .where(and(eq(linkedinAccounts.id, accountId), live(workspaceId)));
  return row ?? null;
}

export async function getAccount(deps: ServiceDeps, workspaceId: string, accountId: string) {
  const row = await findAccount(deps.db, workspaceId, accountId);
  return row ? toView(deps, row) : null;
}

/**
 * Applies a partial update. A new session on a challenged or expired account puts it back to
 * `active` (the person logged in again), unless the same request sets the status itself.
 */
export async function updateAccount(
  deps: ServiceDeps,
  workspaceId: string,
  accountId: string,
  body: UpdateLinkedInAccountBody,
): Promise<LinkedInAccount | null> {
  const row = await deps.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(linkedinAccounts)
      .where(and(eq(linkedinAccounts.id, accountId), live(workspaceId)))
      .for('update');
    if (!current) return null;
    const sessionEnc = sealSession(deps, body);
    const relogged = sessionEnc !== undefined && ['challenged', 'expired'].includes(current.status);
    const status = body.status ?? (relogged ? 'active' : undefined);
    const [updated] = await tx
      .update(linkedinAccounts)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(sessionEnc !== undefined ? { sessionEnc } : {}),
        ...(body.limits ? { limits: effectiveLimits({ ...current.limits, ...body.limits }) } : {}),
        ...(body.workingHours !== undefined ? { workingHours: body.workingHours } : {}),
        ...(status && status !== current.status ? { status, statusReason: null } : {}),
        updatedAt: new Date(),
      })
      .where(eq(linkedinAccounts.id, accountId))
      .returning();
    return updated ?? null;
  });
  return row ? toView(deps, row) : null;
}

/**
 * Soft-deletes the account and overwrites its session, so the cookies are gone at once while the
 * action history (and the limits it feeds) stays for audit.
 */
export async function deleteAccount(deps: ServiceDeps, workspaceId: string, accountId: string) {
  const rows = await deps.db
    .update(linkedinAccounts)
    .set({
      deletedAt: new Date(),
      status: 'paused',
      sessionEnc: deps.secrets.encrypt(JSON.stringify({ cookies: [] })),
      updatedAt: new Date(),
    })
    .where(and(eq(linkedinAccounts.id, accountId), live(workspaceId)))
    .returning({ id: linkedinAccounts.id });
  return rows.length > 0;
}

/** The active account of the workspace that acted least over the last day, for a new enrollment. */
export async function pickActiveAccount(db: DbOrTx, workspaceId: string): Promise<LinkedInAccountRow | null> {
  const recent = sql<number>`(select count(*) from ${linkedinActions} where ${linkedinActions.accountId} = ${linkedinAccounts.id} and ${linkedinActions.at} > now() - interval '1 day')`;
  const [row] = await db
    .select()
    .from(linkedinAccounts)
    .where(and(live(workspaceId), eq(linkedinAccounts.status, 'active')))
    .orderBy(recent, asc(linkedinAccounts.createdAt))
    .limit(1);
  return row ?? null;
}

/**
 * Marks the account challenged (checkpoint, captcha, login wall) and records
 * `linkedin.account_challenged`, once per episode: an already challenged account records nothing.
 */
export async function markChallenged(
  db: DbOrTx,
  input: { workspaceId: string; accountId: string; reason: string },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(linkedinAccounts)
      .set({ status: 'challenged', statusReason: input.reason, updatedAt: new Date() })
      .where(and(eq(linkedinAccounts.id, input.accountId), eq(linkedinAccounts.status, 'active')))
      .returning({ id: linkedinAccounts.id, name: linkedinAccounts.name });
    if (!row) return false;
    await recordEvent(tx, {
      workspaceId: input.workspaceId,
      type: 'linkedin.account_challenged',
      data: { accountId: row.id, accountName: row.name, reason: input.reason },
    });
    return true;
  });
}
