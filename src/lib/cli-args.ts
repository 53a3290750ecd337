import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { workspaces } from '../db/schema/index';

/** Splits `--workspace <id>` (or `--workspace=<id>`) from positional arguments and checks the workspace exists. */
export async function workspaceArg(
  db: Db,
  args: string[],
  usage: string,
): Promise<{ workspaceId: string; positional: string[] }> {
  const { options, positional } = splitArgs(args, ['workspace'], [], usage);
  if (positional.length === 0) throw new Error(`usage: ${usage}`);
  return { workspaceId: await existingWorkspace(db, options.workspace, usage), positional };
}

/** The id given to `--workspace`, checked to be a workspace that exists. */
export async function existingWorkspace(db: Db, workspace: string | undefined, usage: string) {
  if (!workspace) throw new Error(`usage: ${usage}`);
  if (!z.uuid().safeParse(workspace).success)
    throw new Error(`--workspace: "${workspace}" is not a workspace id`);
  const [ws] = await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspace));
  if (!ws) throw new Error(`workspace ${workspace} not found`);
  return ws.id;
}

export type SplitArgs = { options: Record<string, string>; flags: Set<string>; positional: string[] };

/**
 * Splits `--name value` and `--name=value` for the `valued` names and bare `--flag`s for `flags` from
 * positional arguments; any other `--option` is a usage error rather than a file name.
 */
export function splitArgs(args: string[], valued: string[], flags: string[], usage: string): SplitArgs {
  const out: SplitArgs = { options: {}, flags: new Set(), positional: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const [name = '', inline] = arg.startsWith('--') ? splitOnce(arg.slice(2)) : [];
    if (!arg.startsWith('--')) out.positional.push(arg);
    else if (flags.includes(name) && inline === undefined) out.flags.add(name);
    else if (!valued.includes(name)) throw new Error(`unknown option ${arg}; usage: ${usage}`);
    else {
      const value = inline ?? args[++i];
      if (value === undefined) throw new Error(`--${name} needs a value; usage: ${usage}`);
      out.options[name] = value;
    }
  }
  return out;
}

const splitOnce = (s: string): [string, string | undefined] => {
  const at = s.indexOf('=');
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
};
