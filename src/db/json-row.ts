import { getTableColumns, type Table } from 'drizzle-orm';

/**
 * A table row that Postgres sent as `row_to_json(t)` (snake_case keys, JSON values), mapped to the
 * shape drizzle's `select()` gives, through each column's own driver mapping. It lets one raw
 * statement return several typed rows (a claimed run with its enrollment and lead, for instance).
 */
export function fromJsonRow<T extends Table>(table: T, json: Record<string, unknown>): T['$inferSelect'] {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out as T['$inferSelect'];
}
