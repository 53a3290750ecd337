/**
 * The pure half of the pre-launch list check (issue 19): which addresses are role accounts, what a
 * domain's DNS answer means for delivery, and the projected bounce share of a batch.
 */

/**
 * What the MX lookup of an address's domain says. `unknown` (a timeout, SERVFAIL, a refused query)
 * is never a reason to drop an address: the name server failed, not the address.
 */
export type DomainVerdict = 'ok' | 'no_mx' | 'null_mx' | 'no_domain' | 'unknown';

/**
 * Local parts that name a function, not a person: mail to them reaches a shared inbox, a ticket
 * queue or nobody, and answers a cold email with a complaint more often than a reply. Compared
 * lower-cased, without a `+tag`, with `.`, `-` and `_` kept as written.
 */
export const ROLE_LOCAL_PARTS: ReadonlySet<string> = new Set([
  'abuse',
  'accounting',
  'accounts',
  'admin',
  'administrator',
  'billing',
  'careers',
  'contact',
  'customerservice',
  'do-not-reply',
  'donotreply',
  'enquiries',
  'feedback',
  'hello',
  'help',
  'helpdesk',
  'hostmaster',
  'hr',
  'info',
  'inquiries',
  'jobs',
  'legal',
  'mail',
  'marketing',
  'media',
  'no-reply',
  'noreply',
  'office',
  'orders',
  'postmaster',
  'press',
  'privacy',
  'recruiting',
  'root',
  'sales',
  'security',
  'service',
  'support',
  'team',
  'webmaster',
]);

/** Whether `email`'s local part (before any `+tag`) is a role account such as `info@` or `sales@`. */
export function isRoleAddress(email: string): boolean {
  const at = email.lastIndexOf('@');
  if (at <= 0) return false;
  const local = email.slice(0, at).toLowerCase().split('+')[0] ?? '';
  return ROLE_LOCAL_PARTS.has(local);
}

/** Whether a domain is listed, or is a subdomain of a listed one (`x.mailinator.com`). */
export function inDomainList(domain: string, list: ReadonlySet<string>): boolean {
  const labels = domain.toLowerCase().split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    if (list.has(labels.slice(i).join('.'))) return true;
  }
  return false;
}

/** One address as the check sees it. */
export type AddressFacts = {
  syntaxValid: boolean;
  domain: DomainVerdict | null;
  suppressed: boolean;
  bounced: boolean;
  disposable: boolean;
  role: boolean;
};

/**
 * Why an address is expected to bounce (or must not be mailed): bad syntax, a domain that takes no
 * mail, a suppression or an earlier bounce. Empty for an address worth sending to.
 */
export function bounceReasons(facts: AddressFacts): string[] {
  const reasons: string[] = [];
  if (!facts.syntaxValid) reasons.push('invalid');
  if (facts.domain && facts.domain !== 'ok' && facts.domain !== 'unknown') reasons.push(facts.domain);
  if (facts.suppressed) reasons.push('suppressed');
  if (facts.bounced) reasons.push('bounced');
  return reasons;
}

/** What is doubtful but not a bounce: a throwaway domain, a role account, a DNS answer not had. */
export function riskReasons(facts: AddressFacts): string[] {
  const reasons: string[] = [];
  if (facts.disposable) reasons.push('disposable');
  if (facts.role) reasons.push('role');
  if (facts.domain === 'unknown') reasons.push('dns_unknown');
  return reasons;
}

/** Percent of `checked` expected to bounce, to two decimals; 0 for an empty batch. */
export function bounceSharePercent(bouncing: number, checked: number): number {
  if (checked <= 0) return 0;
  return Math.round((bouncing / checked) * 10_000) / 100;
}
