import { and, asc, desc, eq, gt, lt, or, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';

/** A page asked for: at most `limit` rows after the `cursor` of the previous page. */
export type PageRequest = { limit: number; cursor?: string | undefined };

/** Keyset cursor over (createdAt, id): stable under inserts, unlike offsets. */
const CursorJson = z.object({ t: z.iso.datetime(), id: z.uuid() });
export type Cursor = { createdAt: Date; id: string };

/** A cursor this engine did not hand out; the API answers it with 400 on `querystring.cursor`. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
  }
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | null {
  if (!cursor) return null;
  try {
    const parsed = CursorJson.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(parsed.t), id: parsed.id };
  } catch {
    throw new InvalidCursorError();
  }
}

/** Builds a page from `limit + 1` rows fetched in cursor order. */
export function toPage<T extends { createdAt: Date; id: string }, R>(
  rows: T[],
  limit: number,
  map: (row: T) => R,
): { data: R[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return { data: slice.map(map), nextCursor: more && last ? encodeCursor(last) : null };
}

/**
 * Keyset pagination over (createdAt, id), newest first unless `order` is `asc`. Postgres keeps
 * microseconds but a cursor carries milliseconds (JSON dates), so both the order and the comparison
 * use the millisecond value; comparing raw timestamps would repeat or skip rows created within the
 * same millisecond.
 */
export function keyset(
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  cursor: Cursor | null,
  order: 'asc' | 'desc' = 'desc',
): { where: SQL | undefined; orderBy: SQL[] } {
  const ms = sql`date_trunc('milliseconds', ${createdAt})`;
  const [after, direction] = order === 'desc' ? [lt, desc] : [gt, asc];
  return {
    where: cursor
      ? or(after(ms, cursor.createdAt), and(eq(ms, cursor.createdAt), after(id, cursor.id)))
      : undefined,
    orderBy: [direction(ms), direction(id)],
  };
}
