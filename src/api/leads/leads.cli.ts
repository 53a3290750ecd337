import { createReadStream } from 'node:fs';
import type { Deps } from '../../context';
import { workspaceArg } from '../../lib/cli-args';
import { importLeadsCsv } from './csv-import';

export const IMPORT_USAGE = 'leads:import <file.csv> --workspace <workspace id>';

/** `npm run cli -- leads:import file.csv --workspace <id>`: the HTTP importer, reading a file. */
export async function importCsvCommand(deps: Pick<Deps, 'db'>, args: string[]) {
  const { workspaceId, positional } = await workspaceArg(deps.db, args, IMPORT_USAGE);
  const [file = ''] = positional;
  // No size cap from the command line: the file is the operator's own.
  const outcome = await importLeadsCsv(deps.db, workspaceId, createReadStream(file), {
    maxBytes: Number.POSITIVE_INFINITY,
  });
  if (!outcome.ok) throw new Error(`${file}: ${outcome.message}`);
  const { ids: _ids, ...report } = outcome.result;
  return report;
}
