import { and, asc, desc, eq, gt, lt, or, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Cursor } from '../http/schemas';

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
