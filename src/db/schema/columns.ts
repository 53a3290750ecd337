import { customType, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Shared column builders, so every table spells ids and timestamps the same way. */
export const id = () => uuid('id').primaryKey().defaultRandom();
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
export const tstz = (name: string) => timestamp(name, { withTimezone: true });

/** Raw bytes (an upload, a webhook body), as a Buffer. */
export const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
