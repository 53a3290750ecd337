import { and, eq, or, type SQL, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client';
import { anyOf } from '../db/any-of';
import { keyset } from '../db/keyset';
import { type LeadStatus, leads, type SuppressionKind, suppressions } from '../db/schema/index';
import { type PageRequest as PageQuery } from '../db/keyset';
import { decodeCursor, toPage } from '../db/keyset';
import { emailDomain, emailKey } from '../lib/identity';
import { stopLeadEnrollments } from './stop-rules';
import { recordEvent } from '../timeline/events';

export type SuppressionRow = typeof suppressions.$inferSelect;
export type SuppressionTarget = { kind: SuppressionKind; value: string };

/** The target named by a validated body or query (exactly one of the three fields is set). */
export function targetOf(input: {
  email?: string;
  domain?: string;
  linkedinUrl?: string;
}): SuppressionTarget {
  if (input.email !== undefined) return { kind: 'email', value: emailKey(input.email) };
  if (input.domain !== undefined) return { kind: 'domain', value: input.domain };
  return { kind: 'linkedin', value: input.linkedinUrl ?? '' };
}

/** Adds a suppression; adding one that exists returns the existing row with `created: false`. */
export async function addSuppression(
  db: DbOrTx,
  input: SuppressionTarget & { workspaceId: string; reason?: string | null },
): Promise<{ row: SuppressionRow; created: boolean }> {
  const [created] = await db
    .insert(suppressions)
    .values({
      workspaceId: input.workspaceId,
      kind: input.kind,
      value: input.value,
      reason: input.reason ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (created) return { row: created, created: true };
  const [existing] = await db
    .select()
    .from(suppressions)
    .where(
      and(
        eq(suppressions.workspaceId, input.workspaceId),
        eq(suppressions.kind, input.kind),
        eq(suppressions.value, input.value),
      ),
    );
  if (!existing) throw new Error('suppression vanished between insert and read');
  return { row: existing, created: false };
}

export async function listSuppressions(
  db: DbOrTx,
  workspaceId: string,
  query: PageQuery & { kind?: SuppressionKind },
) {
  const page = keyset(suppressions.createdAt, suppressions.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(suppressions)
    .where(
      and(
        eq(suppressions.workspaceId, workspaceId),
        query.kind ? eq(suppressions.kind, query.kind) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, (r) => r);
}

/** Removes one suppression by id or by target; false when there was none in this workspace. */
export async function removeSuppression(
  db: DbOrTx,
  workspaceId: string,
  which: { id: string } | SuppressionTarget,
): Promise<boolean> {
  const match =
    'id' in which
      ? eq(suppressions.id, which.id)
      : and(eq(suppressions.kind, which.kind), eq(suppressions.value, which.value));
  const rows = await db
    .delete(suppressions)
    .where(and(eq(suppressions.workspaceId, workspaceId), match))
    .returning({ id: suppressions.id });
  return rows.length > 0;
}

/** `a@mail.acme.co.uk` is suppressed by `mail.acme.co.uk`, `acme.co.uk` and `co.uk` (never a bare TLD). */
export function domainCandidates(email: string): string[] {
  const labels = emailDomain(email).split('.').filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1; i++) out.push(labels.slice(i).join('.'));
  return out;
}

type Identity = { email?: string | null; linkedinUrl?: string | null };

function identityConditions(who: Identity[]): SQL | undefined {
  const emails = new Set<string>();
  const domains = new Set<string>();
  const profiles = new Set<string>();
  for (const w of who) {
    if (w.email) {
      emails.add(emailKey(w.email));
      for (const d of domainCandidates(w.email)) domains.add(d);
    }
    if (w.linkedinUrl) profiles.add(w.linkedinUrl);
  }
  const parts: SQL[] = [];
  const add = (kind: SuppressionKind, values: Set<string>) => {
    if (values.size === 0) return;
    const clause = and(eq(suppressions.kind, kind), anyOf(suppressions.value, [...values], 'text'));
    if (clause) parts.push(clause);
  };
  add('email', emails);
  add('domain', domains);
  add('linkedin', profiles);
  return parts.length > 0 ? or(...parts) : undefined;
}

/** Whether an email address (or its domain) or a LinkedIn profile is suppressed in the workspace. */
export async function isSuppressed(db: DbOrTx, workspaceId: string, who: Identity): Promise<boolean> {
  const match = identityConditions([who]);
  if (!match) return false;
  const rows = await db
    .select({ one: sql<number>`1` })
    .from(suppressions)
    .where(and(eq(suppressions.workspaceId, workspaceId), match))
    .limit(1);
  return rows.length > 0;
}

/** The ids of the given leads that are suppressed, in one query: for bulk enrollment. */
export async function suppressedLeadIds(
  db: DbOrTx,
  workspaceId: string,
  candidates: (Identity & { id: string })[],
): Promise<Set<string>> {
  const out = new Set<string>();
  const match = identityConditions(candidates);
  if (!match) return out;
  const rows = await db
    .select({ kind: suppressions.kind, value: suppressions.value })
    .from(suppressions)
    .where(and(eq(suppressions.workspaceId, workspaceId), match));
  const hit = new Set(rows.map((r) => `${r.kind}:${r.value}`));
  for (const lead of candidates) {
    const keys = [
      ...(lead.email
        ? [`email:${emailKey(lead.email)}`, ...domainCandidates(lead.email).map((d) => `domain:${d}`)]
        : []),
      ...(lead.linkedinUrl ? [`linkedin:${lead.linkedinUrl}`] : []),
    ];
    if (keys.some((k) => hit.has(k))) out.add(lead.id);
  }
  return out;
}

export type LeadStopResult =
  | { ok: true; changed: boolean; enrollmentIds: string[] }
  | { ok: false; error: 'lead_not_found' };

/**
 * The lead to stop, and the enrollment and step run whose message led to it when one did (the send
 * that bounced, the message a reply or report answers): the event carries them, so a sequence's
 * figures credit the stop to that step.
 */
type LeadStopInput = {
  workspaceId: string;
  leadId: string;
  enrollmentId?: string | null;
  stepRunId?: string | null;
};

type LockedLead = { status: LeadStatus; email: string | null; linkedinUrl: string | null };

async function lockLead(tx: Tx, workspaceId: string, leadId: string): Promise<LockedLead | null> {
  const [lead] = await tx
    .select({ status: leads.status, email: leads.email, linkedinUrl: leads.linkedinUrl })
    .from(leads)
    .where(and(eq(leads.id, leadId), eq(leads.workspaceId, workspaceId)))
    .for('update');
  return lead ?? null;
}

/** How one kind of stop treats a lead: what it overrides, what it suppresses, what it records. */
type LeadStop = {
  status: 'unsubscribed' | 'bounced';
  /** Statuses this stop replaces; a lead in any other keeps its status (and no event is recorded). */
  overrides: LeadStatus[];
  suppress: (lead: LockedLead) => (SuppressionTarget & { reason: string })[];
  event: { type: string; data: Record<string, unknown> };
};

/**
 * Locks the lead, moves it to the stop's status, suppresses its targets, stops every live
 * enrollment, and records the event once (only when the status changed). Idempotent.
 */
async function stopLead(tx: Tx, input: LeadStopInput, stop: LeadStop): Promise<LeadStopResult> {
  const lead = await lockLead(tx, input.workspaceId, input.leadId);
  if (!lead) return { ok: false, error: 'lead_not_found' };
  const changed = stop.overrides.includes(lead.status);
  if (changed) {
    await tx
      .update(leads)
      .set({ status: stop.status, updatedAt: new Date() })
      .where(eq(leads.id, input.leadId));
  }
  for (const target of stop.suppress(lead))
    await addSuppression(tx, { workspaceId: input.workspaceId, ...target });
  const { enrollmentIds } = await stopLeadEnrollments(tx, {
    workspaceId: input.workspaceId,
    leadIds: [input.leadId],
    status: stop.status,
    reason: stop.status,
  });
  if (changed) {
    await recordEvent(tx, {
      workspaceId: input.workspaceId,
      leadId: input.leadId,
      enrollmentId: input.enrollmentId ?? null,
      stepRunId: input.stepRunId ?? null,
      ...stop.event,
    });
  }
  return { ok: true, changed, enrollmentIds };
}

/**
 * The lead asked to hear no more: status `unsubscribed` (a `bounced` or `do_not_contact` lead keeps
 * its status), its email and LinkedIn profile suppressed for the workspace, every live enrollment
 * stopped, and `lead.unsubscribed` recorded once. Idempotent; runs in the caller's transaction.
 * `reason` is the suppressions' reason, `unsubscribe:<source>` unless given (a complaint's is `complaint`).
 */
export function unsubscribeLead(
  tx: Tx,
  input: LeadStopInput & { source: string; reason?: string },
): Promise<LeadStopResult> {
  const reason = input.reason ?? `unsubscribe:${input.source}`;
  return stopLead(tx, input, {
    status: 'unsubscribed',
    overrides: ['active'],
    suppress: (lead) => [
      ...(lead.email ? [{ kind: 'email' as const, value: emailKey(lead.email), reason }] : []),
      ...(lead.linkedinUrl ? [{ kind: 'linkedin' as const, value: lead.linkedinUrl, reason }] : []),
    ],
    event: { type: 'lead.unsubscribed', data: { source: input.source } },
  });
}

/**
 * The lead's address is dead (SMTP 5xx, or a DSN through the inbound webhook): status `bounced`
 * (a `do_not_contact` lead keeps its status), the email suppressed, every live enrollment stopped, and
 * `lead.bounced` recorded once. Idempotent; runs in the caller's transaction.
 */
export function bounceLead(tx: Tx, input: LeadStopInput & { reason: string }): Promise<LeadStopResult> {
  const reason = `bounce: ${input.reason}`.slice(0, 500);
  return stopLead(tx, input, {
    status: 'bounced',
    overrides: ['active', 'unsubscribed'],
    suppress: (lead) => (lead.email ? [{ kind: 'email', value: emailKey(lead.email), reason }] : []),
    event: { type: 'lead.bounced', data: { reason: input.reason } },
  });
}
