import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';

/**
 * `column = any($1::type[])`: the values travel as one array parameter. drizzle's `inArray` sends
 * one parameter per value, and a statement takes at most 65,535, so pausing a sequence with 70,000
 * live enrollments failed outright; building that many parameters was slow well before then.
 */
export const anyOf = (column: SQLWrapper, values: readonly string[], type: 'uuid' | 'text'): SQL =>
  sql`${column} = any(${sql.param(values)}::${sql.raw(type)}[])`;
