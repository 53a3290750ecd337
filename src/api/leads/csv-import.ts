import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { Db } from '../../db/client';
import { HttpError } from '../http/errors';
import { RowError, upsertLeads } from './bulk-upsert';
import { type ColumnTarget, detectDelimiter, mapHeader, recordToLead } from './csv-headers';
import type { BulkResult } from './leads.schemas';

export const CSV_MAX_BYTES = 50 * 1024 * 1024;
const BATCH = 1_000;

export type ImportOutcome =
  | { ok: true; result: BulkResult }
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
  opts: { maxBytes?: number } = {},
): Promise<ImportOutcome> {
  const maxBytes = opts.maxBytes ?? CSV_MAX_BYTES;
  try {
    return await db.transaction(async (tx) => {
      const { head, rest } = await readFirstLine(limitBytes(input, maxBytes));
      const delimiter = detectDelimiter(head.toString('utf8').replace(/^\uFEFF/, ''));
      const parser = parse({ delimiter, bom: true, relax_column_count: true, skip_empty_lines: true });
      // pipe() does not forward errors: without this a too-large or broken upload would hang the parser.
      Readable.from(prepend(head, rest))
        .on('error', (err) => parser.destroy(err))
        .pipe(parser);
      const total: BulkResult = { created: 0, updated: 0, merged: 0, failed: [], ids: [] };
      let columns: (ColumnTarget | null)[] | null = null;
      let batch: unknown[] = [];
      const flush = async () => {
        const result = await upsertLeads(tx, {
          workspaceId,
          rows: batch,
          source: 'import',
          indexOffset: total.ids.length,
        });
        total.created += result.created;
        total.updated += result.updated;
        total.merged += result.merged;
        total.failed.push(...result.failed);
        total.ids.push(...result.ids);
        batch = [];
      };
      for await (const record of parser as AsyncIterable<string[]>) {
        if (!columns) {
          const header = mapHeader(record);
          if ('error' in header) throw new InvalidCsv(header.error);
          columns = header.columns;
          continue;
        }
        const row = recordToLead(columns, record);
        batch.push('error' in row ? new RowError(row.error) : row.lead);
        if (batch.length >= BATCH) await flush();
      }
      if (!columns) throw new InvalidCsv('the file is empty: a header row is required');
      if (batch.length > 0) await flush();
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
