import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { DbOrTx } from '../db/client';
import { leads, suppressions } from '../db/schema/index';
import { anyOf } from '../db/any-of';
import {
  bounceReasons,
  bounceSharePercent,
  type DomainVerdict,
  inDomainList,
  isRoleAddress,
  riskReasons,
} from '../core/address-check';
import { disposableDomains } from '../lib/disposable-domains';
import { Email, emailDomain, emailKey } from '../lib/identity';
import { createMxLookup } from '../lib/mx-lookup';
import { suppressedLeadIds } from './suppressions';

/** Addresses one check takes: a request, or an enrollment that asks for the check. */
export const MAX_CHECKED_ADDRESSES = 1000;
/** A whole check answers within this; domains not looked up by then are `unknown`. */
const CHECK_DEADLINE_MS = 20_000;
const DNS_CONCURRENCY = 16;

export type CheckDeps = Pick<Deps, 'db' | 'config'>;

/** One address to check: given as such, or a lead's (then `leadId` is set; `email` may be null). */
export type CheckEntry = {
  email: string | null;
  leadId: string | null;
  linkedinUrl?: string | null;
  leadBounced?: boolean;
};

export type AddressCheck = {
  email: string | null;
  leadId: string | null;
  syntax: 'valid' | 'invalid' | 'missing';
  domain: DomainVerdict | null;
  disposable: boolean;
  role: boolean;
  suppressed: boolean;
  bounced: boolean;
  /** `bounce`: expected to bounce or must not be mailed; `risky`: doubtful; `no_email`: a lead without one. */
  verdict: 'ok' | 'risky' | 'bounce' | 'no_email';
  reasons: string[];
};

export type ListCheckSummary = {
  /** Addresses checked: entries with an email. */
  checked: number;
  bouncing: number;
  risky: number;
  bounceSharePercent: number;
};

export type ListCheck = { results: AddressCheck[]; summary: ListCheckSummary };

/**
 * Checks up to `MAX_CHECKED_ADDRESSES` addresses for a workspace: syntax, the domain's MX (through
 * `DNS_SERVERS`, each domain once), a disposable domain, a role address, a suppression, an earlier
 * bounce. A DNS failure is reported as `unknown` and never counts towards the bounce share.
 */
export async function checkAddresses(
  deps: CheckDeps,
  workspaceId: string,
  entries: readonly CheckEntry[],
): Promise<ListCheck> {
  if (entries.length > MAX_CHECKED_ADDRESSES) throw new RangeError('too many addresses for one check');
  const running = checksInFlight.get(workspaceId) ?? 0;
  if (running >= MAX_CHECKS_IN_FLIGHT) throw new ChecksBusy();
  checksInFlight.set(workspaceId, running + 1);
  try {
    return await runCheck(deps, workspaceId, entries);
  } finally {
    const left = (checksInFlight.get(workspaceId) ?? 1) - 1;
    if (left > 0) checksInFlight.set(workspaceId, left);
    else checksInFlight.delete(workspaceId);
  }
}

/**
 * Checks one workspace may have running at once in this process. A check holds up to 16 DNS
 * queries for up to 20 s; without a bound, one tenant's burst of checks would fill the resolver
 * every other tenant's checks go through.
 */
export const MAX_CHECKS_IN_FLIGHT = 2;
const checksInFlight = new Map<string, number>();

/** The checks a workspace has running in this process. */
export const listChecksRunning = (workspaceId: string): number => checksInFlight.get(workspaceId) ?? 0;

/** The workspace already has `MAX_CHECKS_IN_FLIGHT` checks running: retry when one ends. */
export class ChecksBusy extends Error {
  constructor() {
    super(`at most ${MAX_CHECKS_IN_FLIGHT} list checks run at once per workspace; retry when one ends`);
  }
}

async function runCheck(
  deps: CheckDeps,
  workspaceId: string,
  entries: readonly CheckEntry[],
): Promise<ListCheck> {
  const valid = entries.map((e) => (e.email !== null && Email.safeParse(e.email).success ? e.email : null));
  const lookup = createMxLookup({
    servers: deps.config.DNS_SERVERS,
    timeoutMs: deps.config.DNS_TIMEOUT_MS,
    concurrency: DNS_CONCURRENCY,
    deadline: new Date(Date.now() + CHECK_DEADLINE_MS),
  });
  const [domains, suppressed, bounced] = await Promise.all([
    Promise.all(valid.map((email) => (email ? lookup(emailDomain(email)) : null))),
    suppressedLeadIds(
      deps.db,
      workspaceId,
      entries.map((e, i) => ({ id: String(i), email: valid[i], linkedinUrl: e.linkedinUrl ?? null })),
    ),
    bouncedAddresses(
      deps.db,
      workspaceId,
      valid.filter((e): e is string => e !== null),
    ),
  ]);
  const disposable = disposableDomains();
  const results = entries.map((entry, i): AddressCheck => {
    const email = valid[i] ?? null;
    const facts = {
      syntaxValid: entry.email === null || email !== null,
      domain: domains[i] ?? null,
      suppressed: suppressed.has(String(i)),
      bounced: Boolean(entry.leadBounced) || (email !== null && bounced.has(emailKey(email))),
      disposable: email !== null && inDomainList(emailDomain(email), disposable),
      role: email !== null && isRoleAddress(email),
    };
    const bounce = bounceReasons(facts);
    const risk = riskReasons(facts);
    const verdict =
      entry.email === null ? 'no_email' : bounce.length > 0 ? 'bounce' : risk.length > 0 ? 'risky' : 'ok';
    return {
      email: entry.email,
      leadId: entry.leadId,
      syntax: entry.email === null ? 'missing' : email ? 'valid' : 'invalid',
      domain: facts.domain,
      disposable: facts.disposable,
      role: facts.role,
      suppressed: facts.suppressed,
      bounced: facts.bounced,
      verdict,
      reasons: [...bounce, ...risk],
    };
  });
  return { results, summary: summarize(results) };
}

function summarize(results: readonly AddressCheck[]): ListCheckSummary {
  const checked = results.filter((r) => r.verdict !== 'no_email').length;
  const bouncing = results.filter((r) => r.verdict === 'bounce').length;
  const risky = results.filter((r) => r.verdict === 'risky').length;
  return { checked, bouncing, risky, bounceSharePercent: bounceSharePercent(bouncing, checked) };
}

/** Address keys that bounced before in the workspace: a bounced lead's, or a bounce's suppression. */
async function bouncedAddresses(db: DbOrTx, workspaceId: string, emails: string[]): Promise<Set<string>> {
  const keys = [...new Set(emails.map(emailKey))];
  if (keys.length === 0) return new Set();
  const [fromLeads, fromSuppressions] = await Promise.all([
    db
      .select({ key: leads.emailKey })
      .from(leads)
      .where(
        and(
          eq(leads.workspaceId, workspaceId),
          eq(leads.status, 'bounced'),
          anyOf(leads.emailKey, keys, 'text'),
        ),
      ),
    db
      .select({ key: suppressions.value })
      .from(suppressions)
      .where(
        and(
          eq(suppressions.workspaceId, workspaceId),
          eq(suppressions.kind, 'email'),
          anyOf(suppressions.value, keys, 'text'),
          sql`${suppressions.reason} like 'bounce:%'`,
        ),
      ),
  ]);
  return new Set([...fromLeads, ...fromSuppressions].map((r) => r.key ?? ''));
}

/** The workspace's live leads among `leadIds`, as check entries, and the ids it has no lead for. */
export async function leadEntries(
  db: DbOrTx,
  workspaceId: string,
  leadIds: readonly string[],
): Promise<{ entries: Map<string, CheckEntry>; missing: string[] }> {
  const unique = [...new Set(leadIds)];
  const rows =
    unique.length === 0
      ? []
      : await db
          .select({ id: leads.id, email: leads.email, linkedinUrl: leads.linkedinUrl, status: leads.status })
          .from(leads)
          .where(
            and(eq(leads.workspaceId, workspaceId), anyOf(leads.id, unique, 'uuid'), isNull(leads.erasedAt)),
          );
  const entries = new Map(
    rows.map((r) => [
      r.id,
      { email: r.email, leadId: r.id, linkedinUrl: r.linkedinUrl, leadBounced: r.status === 'bounced' },
    ]),
  );
  return { entries, missing: unique.filter((id) => !entries.has(id)) };
}

export type EnrollmentGate =
  | { ok: true; check: ListCheck | null }
  | {
      ok: false;
      thresholdPercent: number;
      check: ListCheck;
      offending: { leadId: string; email: string | null; reasons: string[] }[];
    };

/**
 * The list check as an option of enrollment: the leads found in the workspace are checked, and
 * the batch is refused when the share expected to bounce is above the workspace's
 * `bounceThresholdPercent`. Leads that are not found are left to the enrollment to skip.
 */
export async function gateEnrollment(
  deps: CheckDeps,
  workspaceId: string,
  leadIds: readonly string[],
  thresholdPercent: number,
): Promise<EnrollmentGate> {
  const { entries } = await leadEntries(deps.db, workspaceId, leadIds);
  const check = await checkAddresses(deps, workspaceId, [...entries.values()]);
  if (check.summary.bounceSharePercent <= thresholdPercent) return { ok: true, check };
  const offending = check.results
    .filter((r) => r.verdict === 'bounce')
    .map((r) => ({ leadId: r.leadId ?? '', email: r.email, reasons: r.reasons }));
  return { ok: false, thresholdPercent, check, offending };
}
