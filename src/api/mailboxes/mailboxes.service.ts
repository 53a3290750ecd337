import { and, eq, ne } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Deps } from '../../context';
import { keyset } from '../../db/keyset';
import { mailboxes, type WarmupRamp, workspaces } from '../../db/schema/index';
import { type PageQuery } from '../http/schemas';
import { decodeCursor, toPage } from '../../db/keyset';
import type { CreateMailboxBody, Mailbox, UpdateMailboxBody, Warmup } from './mailboxes.schemas';

type MailboxDeps = Pick<Deps, 'db' | 'secrets'>;
type MailboxWriteDeps = Pick<Deps, 'db' | 'secrets' | 'targets'>;
export type MailboxRow = typeof mailboxes.$inferSelect;

/**
 * `private_address`: the SMTP host is an address (or `localhost`) that `ALLOWED_PRIVATE_TARGETS`
 * does not allow. A host name is checked again on every connection, whatever it resolves to then.
 */
export type MailboxWrite =
  | { ok: true; row: MailboxRow }
  | { ok: false; error: 'not_found' | 'private_address' };

export function toMailboxView(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    name: row.name,
    fromEmail: row.fromEmail,
    fromName: row.fromName,
    dailyLimit: row.dailyLimit,
    minIntervalSeconds: row.minIntervalSeconds,
    warmup: row.warmup,
    status: row.status,
    smtp: {
      host: row.smtpHost,
      port: row.smtpPort,
      secure: row.smtpSecure,
      tls: row.smtpTls,
      hasCredentials: row.smtpUser !== null || row.smtpPassEnc !== null,
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A ramp without a first day starts today, in the workspace's calendar. */
async function rampFrom(deps: MailboxDeps, workspaceId: string, warmup: Warmup): Promise<WarmupRamp> {
  if (warmup.startedAt) return { ...warmup, startedAt: warmup.startedAt };
  const [ws] = await deps.db
    .select({ tz: workspaces.timezone })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  const today =
    DateTime.now()
      .setZone(ws?.tz ?? 'UTC')
      .toISODate() ?? undefined;
  return { ...warmup, startedAt: today };
}

const seal = (deps: MailboxDeps, pass: string | null | undefined) =>
  pass === undefined ? undefined : pass === null || pass === '' ? null : deps.secrets.encrypt(pass);

export async function createMailbox(
  deps: MailboxWriteDeps,
  workspaceId: string,
  input: CreateMailboxBody,
): Promise<MailboxWrite> {
  if (!deps.targets.allowsStatically(input.smtp)) return { ok: false, error: 'private_address' };
  const [row] = await deps.db
    .insert(mailboxes)
    .values({
      workspaceId,
      name: input.name,
      fromEmail: input.fromEmail,
      fromName: input.fromName ?? null,
      smtpHost: input.smtp.host,
      smtpPort: input.smtp.port,
      smtpSecure: input.smtp.secure ?? input.smtp.port === 465,
      smtpTls: input.smtp.tls,
      smtpUser: input.smtp.user || null,
      smtpPassEnc: seal(deps, input.smtp.pass) ?? null,
      dailyLimit: input.dailyLimit,
      minIntervalSeconds: input.minIntervalSeconds,
      warmup: input.warmup ? await rampFrom(deps, workspaceId, input.warmup) : null,
    })
    .returning();
  if (!row) throw new Error('mailbox insert returned nothing');
  return { ok: true, row };
}

/** A mailbox of this workspace that is not deleted, or null. */
export async function getMailbox(
  deps: MailboxDeps,
  workspaceId: string,
  id: string,
): Promise<MailboxRow | null> {
  const [row] = await deps.db
    .select()
    .from(mailboxes)
    .where(
      and(eq(mailboxes.id, id), eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')),
    );
  return row ?? null;
}

export async function listMailboxes(
  deps: MailboxDeps,
  workspaceId: string,
  query: PageQuery & { status?: 'active' | 'paused' },
) {
  const page = keyset(mailboxes.createdAt, mailboxes.id, decodeCursor(query.cursor));
  const rows = await deps.db
    .select()
    .from(mailboxes)
    .where(
      and(
        eq(mailboxes.workspaceId, workspaceId),
        query.status ? eq(mailboxes.status, query.status) : ne(mailboxes.status, 'deleted'),
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toMailboxView);
}

/**
 * Applies a partial update. `smtp.user`/`smtp.pass` set to null clear the credential. Bumping
 * `updatedAt` is what makes the sender drop its pooled connection and reconnect with the new settings.
 */
export async function updateMailbox(
  deps: MailboxWriteDeps,
  workspaceId: string,
  id: string,
  input: UpdateMailboxBody,
): Promise<MailboxWrite> {
  const smtp = input.smtp ?? {};
  if (smtp.host !== undefined || smtp.port !== undefined) {
    // A new port alone can make an allowed host one that is not (an entry may name its port).
    const current = await getMailbox(deps, workspaceId, id);
    if (!current) return { ok: false, error: 'not_found' };
    const target = { host: smtp.host ?? current.smtpHost, port: smtp.port ?? current.smtpPort };
    if (!deps.targets.allowsStatically(target)) return { ok: false, error: 'private_address' };
  }
  const warmup =
    input.warmup === undefined
      ? undefined
      : input.warmup === null
        ? null
        : await rampFrom(deps, workspaceId, input.warmup);
  const [row] = await deps.db
    .update(mailboxes)
    .set({
      name: input.name,
      fromEmail: input.fromEmail,
      fromName: input.fromName,
      smtpHost: smtp.host,
      smtpPort: smtp.port,
      smtpSecure: smtp.secure,
      smtpTls: smtp.tls,
      smtpUser: smtp.user === undefined ? undefined : smtp.user || null,
      smtpPassEnc: seal(deps, smtp.pass),
      dailyLimit: input.dailyLimit,
      minIntervalSeconds: input.minIntervalSeconds,
      warmup,
      status: input.status,
      updatedAt: new Date(),
    })
    .where(and(eq(mailboxes.id, id), eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')))
    .returning();
  return row ? { ok: true, row } : { ok: false, error: 'not_found' };
}

/**
 * Soft delete: the row stays so past messages keep their sender, but it takes no new sends. Enrollments
 * that were using it move to another active mailbox at their next email.
 */
export async function deleteMailbox(deps: MailboxDeps, workspaceId: string, id: string): Promise<boolean> {
  const rows = await deps.db
    .update(mailboxes)
    .set({ status: 'deleted', updatedAt: new Date() })
    .where(and(eq(mailboxes.id, id), eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')))
    .returning({ id: mailboxes.id });
  return rows.length > 0;
}
