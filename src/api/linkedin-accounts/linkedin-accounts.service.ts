import { and, eq } from 'drizzle-orm';
import { live, findAccount, type LinkedInAccountRow } from '../../channels/linkedin/accounts';
import { effectiveLimits, usageByAccount } from '../../channels/linkedin/limits';
import { type StoredSession, sessionFromLiAt } from '../../channels/linkedin/session';
import type { Deps } from '../../context';
import { decodeCursor, keyset, type PageRequest, toPage } from '../../db/keyset';
import { linkedinAccounts } from '../../db/schema/index';
import type {
  CreateLinkedInAccountBody,
  LinkedInAccount,
  UpdateLinkedInAccountBody,
} from './linkedin-accounts.schemas';

/** Connecting, listing, editing and removing accounts: what the API does with them. */
type ServiceDeps = Pick<Deps, 'db' | 'secrets'>;

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
    locale: r.locale,
    whenNoteQuotaExhausted: r.whenNoteQuotaExhausted,
    layoutCheck: r.layoutCheck
      ? {
          at: r.layoutCheck.at,
          recognised: r.layoutCheck.recognised,
          unrecognised: r.layoutCheck.unrecognised,
        }
      : null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  }));
}

async function toView(deps: ServiceDeps, row: LinkedInAccountRow): Promise<LinkedInAccount> {
  const [view] = await toViews(deps, [row]);
  if (!view) throw new Error('account view missing');
  return view;
}

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
      locale: body.locale ?? null,
      ...(body.whenNoteQuotaExhausted ? { whenNoteQuotaExhausted: body.whenNoteQuotaExhausted } : {}),
    })
    .returning();
  if (!row) throw new Error('account insert returned nothing');
  return toView(deps, row);
}

/** Accounts oldest first: the order they were connected in. */
export async function listAccounts(deps: ServiceDeps, workspaceId: string, query: PageRequest) {
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

export async function getAccount(deps: ServiceDeps, workspaceId: string, accountId: string) {
  const row = await findAccount(deps.db, workspaceId, accountId);
  return row ? toView(deps, row) : null;
}

/**
 * Applies a partial update. A new session on a challenged or expired account puts it back to
 * `active` (the person logged in again), unless the same request sets the status itself. A
 * `layout_unrecognized` account goes back to work only when a person (or the canary) says so.
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
        ...(body.locale !== undefined ? { locale: body.locale } : {}),
        ...(body.whenNoteQuotaExhausted ? { whenNoteQuotaExhausted: body.whenNoteQuotaExhausted } : {}),
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
