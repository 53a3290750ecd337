import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Deps } from '../../context';
import { workspaceArg } from '../../lib/cli-args';
import { importLeadsCsv } from './csv-import';

export const IMPORT_USAGE = 'leads:import <file.csv> --workspace <workspace id>';

/** Where progress goes: a terminal gets a line redrawn in place; a pipe or a file gets nothing. */
export type ProgressSink = { isTTY?: boolean; write(text: string): unknown };

/**
 * `npm run -s cli -- leads:import file.csv --workspace <id>`: the HTTP importer, reading a file.
 * stdout gets the JSON report only (each failure with its file `line`, the header being line 1);
 * stderr gets a progress line while it runs when it is a terminal, and a one-line summary at the end.
 */
export async function importCsvCommand(
  deps: Pick<Deps, 'db'>,
  args: string[],
  progress: ProgressSink = process.stderr,
) {
  const { workspaceId, positional } = await workspaceArg(deps.db, args, IMPORT_USAGE);
  const [file = ''] = positional;
  const bytes = (await stat(file)).size;
  const input = createReadStream(file);
  const started = Date.now();
  const rate = (rows: number) => Math.round(rows / Math.max((Date.now() - started) / 1000, 0.001));
  const onProgress = progress.isTTY
    ? (rows: number) => {
        const share = bytes > 0 ? Math.min(1, input.bytesRead / bytes) : 1;
        const rowsPerSecond = rate(rows);
        const left = share > 0 ? ((Date.now() - started) / 1000) * (1 / share - 1) : 0;
        progress.write(
          `\r${rows.toLocaleString('en')} rows, ${(share * 100).toFixed(0)}%, ` +
            `${rowsPerSecond.toLocaleString('en')} rows/s, about ${Math.ceil(left)} s left   `,
        );
      }
    : undefined;
  // No size cap from the command line: the file is the operator's own.
  const outcome = await importLeadsCsv(deps.db, workspaceId, input, {
    maxBytes: Number.POSITIVE_INFINITY,
    onProgress,
  });
  if (progress.isTTY) progress.write('\n');
  if (!outcome.ok) throw new Error(`${file}: ${outcome.message}`);
  const { ids, ...report } = outcome.result;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  progress.write(
    `${file}: ${ids.length} rows in ${seconds} s (${rate(ids.length)} rows/s): ${report.created} created, ` +
      `${report.updated} updated, ${report.merged} merged, ${report.failed.length} failed\n`,
  );
  return report;
}
