import { createReadStream } from 'node:fs';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Deps } from '../../context';
import { workspaces } from '../../db/schema/index';
import { importLeadsCsv } from './csv-import';

export const IMPORT_USAGE = 'leads:import <file.csv> --workspace <workspace id>';

/** `npm run cli -- leads:import file.csv --workspace <id>`: the HTTP importer, reading a file. */
export async function importCsvCommand(deps: Pick<Deps, 'db'>, args: string[]) {
  const positional: string[] = [];
  let workspace: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--workspace') workspace = args[++i];
    else if (arg.startsWith('--workspace=')) workspace = arg.slice('--workspace='.length);
    else positional.push(arg);
  }
  const [file] = positional;
  if (!file || !workspace) throw new Error(`usage: ${IMPORT_USAGE}`);
  if (!z.uuid().safeParse(workspace).success)
    throw new Error(`--workspace: "${workspace}" is not a workspace id`);
  const [ws] = await deps.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.id, workspace));
  if (!ws) throw new Error(`workspace ${workspace} not found`);
  // No size cap from the command line: the file is the operator's own.
  const outcome = await importLeadsCsv(deps.db, ws.id, createReadStream(file), {
    maxBytes: Number.POSITIVE_INFINITY,
  });
  if (!outcome.ok) throw new Error(`${file}: ${outcome.message}`);
  const { ids: _ids, ...report } = outcome.result;
  return report;
}
