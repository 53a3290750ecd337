import { and, eq, ne, sql } from 'drizzle-orm';
import { sealOAuth2Secret, tokenUrlOf } from '../../channels/email/oauth2';
import { DateTime } from 'luxon';
import type { Deps } from '../../context';
import { keyset } from '../../db/keyset';
import {
  type InboxStatus,
  inboxCursors,
  mailboxes,
  type WarmupRamp,
  workspaces,
} from '../../db/schema/index';
import { type PageQuery } from '../http/schemas';
import { decodeCursor, toPage } from '../../db/keyset';
import type {
  CreateMailboxBody,
  ImapInput,
  Mailbox,
  OAuth2Input,
  UpdateMailboxBody,
  Warmup,
} from './mailboxes.schemas';

type MailboxDeps = Pick<Deps, 'db' | 'secrets'>;
type MailboxWriteDeps = Pick<Deps, 'db' | 'secrets' | 'targets'>;
export type MailboxRow = typeof mailboxes.$inferSelect;

/**
 * `private_address`: the SMTP host is an address (or `localhost`) that `ALLOWED_PRIVATE_TARGETS`
 * does not allow. A host name is checked again on every connection, whatever it resolves to then.
 */
export type MailboxWrite =
  | { ok: true; row: MailboxRow }
  | { ok: false; error: 'not_found' }
  | { ok: false; error: 'private_address' | 'smtp_required'; field: string };

/** The servers of the providers OAuth2 knows, used when the request names none. */
const providerServers = {
  google: {
    smtp: { host: 'smtp.gmail.com', port: 465, secure: true },
    imap: { host: 'imap.gmail.com', port: 993, secure: true },
  },
  microsoft: {
    smtp: { host: 'smtp.office365.com', port: 587, secure: false },
    imap: { host: 'outlook.office365.com', port: 993, secure: true },
  },
} as const;
const serversOf = (oauth2: OAuth2Input | null | undefined) =>
  oauth2 && oauth2.provider !== 'custom' ? providerServers[oauth2.provider] : null;

/** The first configured host the outbound guard refuses without DNS, as the failing field. */
function refusedHost(
  deps: MailboxWriteDeps,
  targets: { field: string; host: string; port: number }[],
): string | null {
  return targets.find((t) => !deps.targets.allowsStatically(t))?.field ?? null;
}

/** The token URL as a connection target (custom and tenant-specific URLs are the tenant's own). */
function tokenTarget(oauth2: OAuth2Input) {
  const url = new URL(tokenUrlOf({ provider: oauth2.provider, tokenUrl: oauth2.tokenUrl ?? null }) ?? '');
  return {
    field: 'body.oauth2.tokenUrl',
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'http:' ? 80 : 443),
  };
}

/** The inbox columns for new settings: reading starts over (new server, new cursors) at once. */
function imapColumns(deps: MailboxDeps, imap: ImapInput | null) {
  if (!imap)
    return {
      imapHost: null,
      imapPort: null,
      imapUser: null,
      imapPassEnc: null,
      imapFolders: null,
      inboxStatus: 'disabled' as const,
      inboxLastError: null,
      inboxFailures: 0,
      inboxRetryAt: null,
    };
  return {
    imapHost: imap.host,
    imapPort: imap.port,
    imapSecure: imap.secure ?? imap.port === 993,
    imapTls: imap.tls,
    imapUser: imap.user || null,
    imapPassEnc: seal(deps, imap.pass) ?? null,
    imapFolders: imap.folders ?? null,
    ...freshInbox,
  };
}

/** New credentials are tried at once: the backoff and the last failure are forgotten. */
const freshInbox = {
  inboxStatus: 'idle' as const,
  inboxLastError: null,
  inboxFailures: 0,
  inboxRetryAt: null,
};

function oauth2Columns(deps: MailboxDeps, oauth2: OAuth2Input | null) {
  return {
    oauth2: oauth2
      ? {
          provider: oauth2.provider,
          clientId: oauth2.clientId,
          tokenUrl: oauth2.tokenUrl ?? null,
          user: oauth2.user,
        }
      : null,
    oauth2SecretEnc: oauth2
      ? sealOAuth2Secret(deps.secrets, {
          clientSecret: oauth2.clientSecret,
          refreshToken: oauth2.refreshToken,
        })
      : null,
    oauth2AccessEnc: null,
    oauth2AccessExpiresAt: null,
  };
}

const imapWithDefaults = (
  imap: ImapInput | undefined,
  oauth2: OAuth2Input | null | undefined,
): ImapInput | null => {
  if (imap) return imap;
  const server = serversOf(oauth2)?.imap;
  return server ? { ...server, tls: 'required' } : null;
};

export function toMailboxView(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    name: row.name,
    fromEmail: row.fromEmail,
    fromName: row.fromName,
    signature: row.signature,
    dailyLimit: row.dailyLimit,
    minIntervalSeconds: row.minIntervalSeconds,
    warmup: row.warmup,
    status: row.status,
    smtp: {
      host: row.smtpHost,
      port: row.smtpPort,
      secure: row.smtpSecure,
      tls: row.smtpTls,
      hasCredentials: row.smtpUser !== null || row.smtpPassEnc !== null || row.oauth2 !== null,
    },
    imap:
      row.imapHost && row.imapPort
        ? {
            host: row.imapHost,
            port: row.imapPort,
            secure: row.imapSecure,
            tls: row.imapTls,
            hasOwnCredentials: row.imapUser !== null || row.imapPassEnc !== null,
            folders: row.imapFolders,
          }
        : null,
    oauth2: row.oauth2,
    inbox: {
      status: row.inboxStatus,
      lastSyncAt: row.inboxLastSyncAt?.toISOString() ?? null,
      lastError: row.inboxLastError,
      lag: row.inboxLastSyncAt
        ? Math.max(0, Math.round((Date.now() - row.inboxLastSyncAt.getTime()) / 1000))
        : null,
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
  const smtp = input.smtp ?? serversOf(input.oauth2)?.smtp;
  if (!smtp) return { ok: false, error: 'smtp_required', field: 'body.smtp' };
  const imap = imapWithDefaults(input.imap, input.oauth2);
  const refused = refusedHost(deps, [
    { field: 'body.smtp.host', host: smtp.host, port: smtp.port },
    ...(imap ? [{ field: 'body.imap.host', host: imap.host, port: imap.port }] : []),
    ...(input.oauth2 ? [tokenTarget(input.oauth2)] : []),
  ]);
  if (refused) return { ok: false, error: 'private_address', field: refused };
  const [row] = await deps.db
    .insert(mailboxes)
    .values({
      workspaceId,
      name: input.name,
      fromEmail: input.fromEmail,
      fromName: input.fromName ?? null,
      signature: input.signature || null,
      smtpHost: smtp.host,
      smtpPort: smtp.port,
      smtpSecure: smtp.secure ?? smtp.port === 465,
      smtpTls: input.smtp?.tls ?? 'required',
      smtpUser: input.smtp?.user || null,
      smtpPassEnc: seal(deps, input.smtp?.pass) ?? null,
      ...imapColumns(deps, imap),
      ...oauth2Columns(deps, input.oauth2 ?? null),
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
  const targets: { field: string; host: string; port: number }[] = [];
  if (smtp.host !== undefined || smtp.port !== undefined) {
    // A new port alone can make an allowed host one that is not (an entry may name its port).
    const current = await getMailbox(deps, workspaceId, id);
    if (!current) return { ok: false, error: 'not_found' };
    targets.push({
      field: 'body.smtp.host',
      host: smtp.host ?? current.smtpHost,
      port: smtp.port ?? current.smtpPort,
    });
  }
  const imap =
    input.imap === undefined ? undefined : input.imap && imapWithDefaults(input.imap, input.oauth2);
  if (imap) targets.push({ field: 'body.imap.host', host: imap.host, port: imap.port });
  if (input.oauth2) targets.push(tokenTarget(input.oauth2));
  const refused = refusedHost(deps, targets);
  if (refused) return { ok: false, error: 'private_address', field: refused };
  const credentialsChanged = smtp.pass !== undefined || smtp.user !== undefined || input.oauth2 !== undefined;
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
      signature: input.signature === undefined ? undefined : input.signature || null,
      smtpHost: smtp.host,
      smtpPort: smtp.port,
      smtpSecure: smtp.secure,
      smtpTls: smtp.tls,
      smtpUser: smtp.user === undefined ? undefined : smtp.user || null,
      smtpPassEnc: seal(deps, smtp.pass),
      ...(credentialsChanged
        ? {
            ...freshInbox,
            inboxStatus: sql<InboxStatus>`case when ${mailboxes.imapHost} is null then 'disabled' else 'idle' end`,
          }
        : {}),
      ...(imap === undefined ? {} : imapColumns(deps, imap)),
      ...(input.oauth2 === undefined ? {} : oauth2Columns(deps, input.oauth2)),
      dailyLimit: input.dailyLimit,
      minIntervalSeconds: input.minIntervalSeconds,
      warmup,
      status: input.status,
      updatedAt: new Date(),
    })
    .where(and(eq(mailboxes.id, id), eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')))
    .returning();
  if (!row) return { ok: false, error: 'not_found' };
  // Another server (or account) numbers its folders its own way: its cursors start over.
  if (imap !== undefined) await deps.db.delete(inboxCursors).where(eq(inboxCursors.mailboxId, id));
  return { ok: true, row };
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
