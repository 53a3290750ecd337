import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type { Db, Tx } from '../../db/client';
import { HttpError } from '../http/errors';
import { RowError, upsertLeads } from './bulk-upsert';
import { type ColumnTarget, detectDelimiter, mapHeader, recordToLead } from './csv-headers';
import type { BulkResult } from './leads.schemas';

export const CSV_MAX_BYTES = 50 * 1024 * 1024;
const BATCH = 1_000;

/** A row that failed, with the line of the file it starts on (the header is line 1). */
export type ImportFailure = BulkResult['failed'][number] & { line: number };
export type ImportResult = Omit<BulkResult, 'failed'> & {
  failed: ImportFailure[];
  /** Data rows read (the length `ids` has when kept). */
  rows: number;
};

export type ImportOutcome =
  | { ok: true; result: ImportResult }
  | { ok: false; error: 'invalid_csv'; message: string };

class PayloadTooLarge extends Error {}

/**
 * Streams a CSV (BOM, quoted fields, `,` or `;` detected from the header line) into leads, 1,000 rows
 * per set-based upsert, all in one transaction: a file that stops parsing half-way writes nothing,
 * while a bad row is only reported. Used by `POST /v1/leads/import` and `npm run cli -- leads:import`.
 */
export async function importLeadsCsv(
  db: Db,
  workspaceId: string,
  input: AsyncIterable<Buffer | string>,
  opts: {
    maxBytes?: number;
    onProgress?: (rowsDone: number) => void | Promise<void>;
    /** Runs in the import's transaction after the last row, so its writes commit with the leads. */
    finish?: (tx: Tx, result: ImportResult) => Promise<void>;
    /** False: count the rows, keep no lead id per row (a job of millions of rows). */
    keepIds?: boolean;
  } = {},
): Promise<ImportOutcome> {
  const maxBytes = opts.maxBytes ?? CSV_MAX_BYTES;
  try {
    return await db.transaction(async (tx) => {
      const { head, rest } = await readFirstLine(limitBytes(input, maxBytes));
      const delimiter = detectDelimiter(head.toString('utf8').replace(/^\uFEFF/, ''));
      const parser = parse({
        delimiter,
        bom: true,
        relax_column_count: true,
        skip_empty_lines: true,
        info: true,
      });
      // pipe() does not forward errors: without this a too-large or broken upload would hang the parser.
      Readable.from(prepend(head, rest))
        .on('error', (err) => parser.destroy(err))
        .pipe(parser);
      const total: ImportResult = { created: 0, updated: 0, merged: 0, failed: [], ids: [], rows: 0 };
      let columns: (ColumnTarget | null)[] | null = null;
      let batch: unknown[] = [];
      /** The file line each row of the batch starts on. */
      let lines: number[] = [];
      const flush = async () => {
        const result = await upsertLeads(tx, {
          workspaceId,
          rows: batch,
          source: 'import',
          indexOffset: total.rows,
        });
        total.created += result.created;
        total.updated += result.updated;
        total.merged += result.merged;
        const offset = total.rows;
        total.failed.push(...result.failed.map((f) => ({ ...f, line: lines[f.index - offset] ?? 0 })));
        if (opts.keepIds !== false) total.ids.push(...result.ids);
        total.rows += result.ids.length;
        batch = [];
        lines = [];
        await opts.onProgress?.(total.rows);
      };
      for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
        if (!columns) {
          const header = mapHeader(record);
          if ('error' in header) throw new InvalidCsv(header.error);
          columns = header.columns;
          continue;
        }
        const row = recordToLead(columns, record);
        batch.push('error' in row ? new RowError(row.error) : row.lead);
        lines.push(startLine(record, info.lines));
        if (batch.length >= BATCH) await flush();
      }
      if (!columns) throw new InvalidCsv('the file is empty: a header row is required');
      if (batch.length > 0) await flush();
      await opts.finish?.(tx, total);
      return { ok: true as const, result: total };
    });
  } catch (err) {
    if (err instanceof PayloadTooLarge) {
      throw new HttpError(413, 'payload_too_large', `the CSV is larger than ${maxBytes} bytes`);
    }
    if (err instanceof InvalidCsv || err instanceof CsvError) {
      return { ok: false, error: 'invalid_csv', message: err.message };
    }
    throw err;
  }
}

class InvalidCsv extends Error {}

/**
 * Checks a CSV's first line the way the importer will read it, so an upload with an unusable header
 * is refused at once instead of failing later as a job. The error, or null when the header maps.
 */
export function headerProblem(firstLine: string): string | null {
  const line = firstLine.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  if (line.trim() === '') return 'the file is empty: a header row is required';
  try {
    const [record] = parseSync(line, { delimiter: detectDelimiter(line), relax_column_count: true });
    const header = mapHeader((record as string[] | undefined) ?? []);
    return 'error' in header ? header.error : null;
  } catch {
    // A quoted header spanning lines, say: the job's streaming parser decides.
    return null;
  }
}

type CsvRecord = { record: string[]; info: { lines: number } };

/** csv-parse gives the line a record ends on; a quoted value spanning lines moves its start up. */
const startLine = (record: string[], endLine: number) =>
  endLine - record.reduce((n, field) => n + (field.match(/\n/g)?.length ?? 0), 0);

async function* limitBytes(input: AsyncIterable<Buffer | string>, maxBytes: number) {
  let seen = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    seen += buffer.length;
    if (seen > maxBytes) throw new PayloadTooLarge();
    yield buffer;
  }
}

/** Reads until the first newline, so the delimiter is known before the parser starts. */
async function readFirstLine(
  input: AsyncGenerator<Buffer>,
): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer> }> {
  const chunks: Buffer[] = [];
  for (;;) {
    const next = await input.next();
    if (next.done) break;
    chunks.push(next.value);
    if (next.value.includes(0x0a)) break;
  }
  return { head: Buffer.concat(chunks), rest: input };
}

async function* prepend(head: Buffer, rest: AsyncGenerator<Buffer>) {
  if (head.length > 0) yield head;
  yield* rest;
}
