import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { checkAccountLayout } from '../../channels/linkedin/canary';
import { closeLinkedInRuntime } from '../../channels/linkedin/runtime';
import type { Deps } from '../../context';
import { linkedinAccounts } from '../../db/schema/index';

export const LINKEDIN_CHECK_USAGE = 'linkedin:check --account <linkedin account id>';

/**
 * `linkedin:check`: the canary, once, for one account. Opens the account's own profile and inbox
 * (read-only: nothing clicked, nothing marked read, the account's status untouched) and reports which
 * page objects recognised them. `ok` is false, and the exit code 1, when any did not, when LinkedIn
 * showed a wall, or when another process holds the account.
 */
export async function linkedinCheckCommand(deps: Deps, args: string[]): Promise<Record<string, unknown>> {
  let id: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--account') id = args[++i];
    else if (arg.startsWith('--account=')) id = arg.slice('--account='.length);
    else throw new Error(`usage: ${LINKEDIN_CHECK_USAGE}`);
  }
  if (!id) throw new Error(`usage: ${LINKEDIN_CHECK_USAGE}`);
  if (!z.uuid().safeParse(id).success) throw new Error(`--account: "${id}" is not an account id`);
  const [account] = await deps.db
    .select()
    .from(linkedinAccounts)
    .where(and(eq(linkedinAccounts.id, id), isNull(linkedinAccounts.deletedAt)));
  if (!account) throw new Error(`linkedin account ${id} not found`);
  try {
    const result = await checkAccountLayout(deps, account);
    const about = { account: { id: account.id, name: account.name, status: account.status } };
    if (result.kind === 'busy') return { ...about, ok: false, busy: true };
    if (result.kind === 'problem')
      return {
        ...about,
        ok: false,
        problem: result.problem,
        ...(result.detail ? { detail: result.detail } : {}),
      };
    return { ...about, ok: result.report.recognised, ...result.report };
  } finally {
    await closeLinkedInRuntime(deps);
  }
}
