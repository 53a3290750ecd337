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
  let workspace: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--workspace') workspace = args[++i];
    else if (arg.startsWith('--workspace=')) workspace = arg.slice('--workspace='.length);
    else positional.push(arg);
  }
  if (!workspace || positional.length === 0) throw new Error(`usage: ${usage}`);
  if (!z.uuid().safeParse(workspace).success)
    throw new Error(`--workspace: "${workspace}" is not a workspace id`);
  const [ws] = await db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspace));
  if (!ws) throw new Error(`workspace ${workspace} not found`);
  return { workspaceId: ws.id, positional };
}
