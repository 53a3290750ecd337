import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { mailboxes } from '../../db/schema/index';
import { effectiveDailyLimit } from '../../channels/email/capacity';
import { type ActionKind, actionWindows } from '../../channels/linkedin/limits';
import type { LinkedInAccount } from '../../api/linkedin-accounts/linkedin-accounts.schemas';

const DAY_MS = 86_400_000;

/** Human and automatic replies received per UTC day over the last `days` days, oldest first. */
export async function repliesPerDay(db: DbOrTx, workspaceId: string, days: number, now = new Date()) {
  const start = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (days - 1) * DAY_MS);
  const rows = await db.execute<{ day: string; n: number }>(sql`
    select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, count(*)::int as n
    from messages
    where workspace_id = ${workspaceId} and direction = 'inbound' and created_at >= ${start}
    group by 1`);
  const counts = new Map(rows.rows.map((r) => [r.day, r.n]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    return { day, count: counts.get(day) ?? 0 };
  });
}

/** Bars of an SVG chart, laid out here so the template only prints numbers. */
export function barChart(points: { day: string; count: number }[], size = { width: 560, height: 160 }) {
  const max = Math.max(1, ...points.map((p) => p.count));
  const plot = size.height - 20;
  const step = size.width / Math.max(1, points.length);
  return {
    ...size,
    max,
    bars: points.map((p, i) => {
      const height = Math.round((p.count / max) * plot);
      return {
        ...p,
        x: Math.round(i * step + 2),
        y: plot - height,
        width: Math.max(1, Math.round(step - 4)),
        height,
        label: p.day.slice(5),
        labelX: Math.round(i * step + step / 2),
      };
    }),
  };
}

/** Each live mailbox: sends today (UTC) against today's cap (the warm-up ramp's), and its inbox sync. */
export async function mailboxUsage(db: DbOrTx, workspaceId: string, now = new Date()) {
  const dayStart = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
  const [boxes, sent] = await Promise.all([
    db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.workspaceId, workspaceId), ne(mailboxes.status, 'deleted')))
      .orderBy(asc(mailboxes.name)),
    db.execute<{ mailbox_id: string; n: number }>(sql`
      select mailbox_id, count(*)::int as n from messages
      where workspace_id = ${workspaceId} and direction = 'outbound' and mailbox_id is not null
        and status in ('sending', 'sent') and created_at >= ${dayStart}
      group by mailbox_id`),
  ]);
  const counts = new Map(sent.rows.map((r) => [r.mailbox_id, r.n]));
  return boxes.map((m) => ({
    id: m.id,
    name: m.name,
    fromEmail: m.fromEmail,
    status: m.status,
    sentToday: counts.get(m.id) ?? 0,
    capToday: effectiveDailyLimit(m, now, 'UTC'),
    dailyLimit: m.dailyLimit,
    warmingUp: m.warmup !== null,
    readsInbox: m.imapHost !== null,
    inboxStatus: m.inboxStatus,
    inboxLastSyncAt: m.inboxLastSyncAt,
    inboxLastError: m.inboxLastError,
  }));
}

const LINKEDIN_ACTIONS: { kind: ActionKind; label: string; usage: keyof LinkedInAccount['usage'] }[] = [
  { kind: 'invite', label: 'Invitations', usage: 'invites' },
  { kind: 'visit', label: 'Profile visits', usage: 'visits' },
  { kind: 'message', label: 'Messages', usage: 'messages' },
];

/**
 * An account's actions in each current rolling window against the limit that caps it, from the
 * API's view of the account (`usage` and the effective `limits`); the windows are the channel's own.
 */
export function linkedinWindows(account: Pick<LinkedInAccount, 'usage' | 'limits'>) {
  return LINKEDIN_ACTIONS.map(({ kind, label, usage }) => {
    const { windowMs, limit } = actionWindows[kind];
    const days = windowMs / DAY_MS;
    return {
      kind,
      label,
      used: account.usage[usage],
      limit: limit(account.limits),
      window: days === 1 ? 'last 24 hours' : `last ${days} days`,
    };
  });
}
