import { doublePrecision, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { tstz } from './columns';
import { sequences } from './sequences';
import { workspaces } from './workspaces';

/**
 * A/B winners promoted under `settings.abAutoPromote` (issue 17): from `promotedAt` on, new runs of
 * the step send only `variant`. Keyed by the step's copy (`copyKey`, a hash of its versions'
 * subjects and bodies) rather than the sequence version, so a PUT that leaves the step's copy alone
 * keeps its winner, and one that edits it starts a new test.
 */
export const abWinners = pgTable(
  'ab_winners',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    sequenceId: uuid('sequence_id')
      .notNull()
      .references(() => sequences.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    copyKey: text('copy_key').notNull(),
    /** The sequence version that was current when the decision was made. */
    version: integer('version').notNull(),
    variant: integer('variant').notNull(),
    pValue: doublePrecision('p_value').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    /** Sends and replies per variant at the decision, as `[{variant, sent, replies}]`. */
    tallies: jsonb('tallies').$type<{ variant: number; sent: number; replies: number }[]>().notNull(),
    promotedAt: tstz('promoted_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sequenceId, t.stepId, t.copyKey] })],
);
