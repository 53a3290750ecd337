import { and, desc, eq, lt, or, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Cursor } from '../http/schemas';

/**
 * Keyset pagination over (createdAt, id), newest first. Postgres keeps microseconds but a cursor
 * carries milliseconds (JSON dates), so both the order and the comparison use the millisecond value;
 * comparing raw timestamps would repeat or skip rows created within the same millisecond.
 */
export function keyset(
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  cursor: Cursor | null,
): { where: SQL | undefined; orderBy: SQL[] } {
  const ms = sql`date_trunc('milliseconds', ${createdAt})`;
  return {
    where: cursor
      ? or(lt(ms, cursor.createdAt), and(eq(ms, cursor.createdAt), lt(id, cursor.id)))
      : undefined,
    orderBy: [desc(ms), desc(id)],
  };
}
