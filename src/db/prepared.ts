import { createHash } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import pg from 'pg';

const MARK = '/* prepared */';
/** Named statements one connection keeps at most: each holds a parse tree and plan in its backend. */
const MAX_PER_CONNECTION = 100;
/** Statement names remembered by text before the memo starts over. */
const MAX_NAMES = 1_000;

/**
 * Marks a statement the engine repeats all day with new parameters (a claim, an advance, a slot
 * take, a reply's receipt), to be prepared on each connection that runs it: Postgres parses it once
 * there and, after five executions, plans it once if a generic plan costs no more than a custom one.
 * Planning was a third to a half of Postgres time per email, per reply and per burst step in
 * `npm run bench`.
 *
 * Only for statements that reach their rows through primary keys or parameters-independent paths.
 * A statement whose best plan depends on its parameters (`workspace_id = $1 and id = any($2)`,
 * where a generic plan may prefer the workspace index) stays unmarked: it measured 8× slower
 * prepared. See docs/decisions.md, "Prepared statements".
 */
export const prepared = (query: SQL): SQL => sql`${sql.raw(MARK)} ${query}`;

const names = new Map<string, string>();

function statementName(text: string): string {
  const known = names.get(text);
  if (known) return known;
  if (names.size >= MAX_NAMES) names.clear();
  // Derived from the text, so every connection and process names one statement alike.
  const name = `s_${createHash('sha1').update(text).digest('base64url')}`;
  names.set(text, name);
  return name;
}

/** A pg client that sends the statements marked by `prepared` as named statements. */
export class PreparingClient extends pg.Client {
  readonly #named = new Set<string>();

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this passes them all through.
  override query(config: any, values?: any, callback?: any): any {
    const name = this.#nameOf(config);
    return name ? super.query({ ...config, name }, values, callback) : super.query(config, values, callback);
  }

  #nameOf(config: unknown): string | undefined {
    if (typeof config !== 'object' || config === null) return undefined;
    // A Submittable (cursor, stream) keeps its prototype: it is never copied into a plain config.
    if (typeof (config as { submit?: unknown }).submit === 'function') return undefined;
    const { text, name } = config as { text?: unknown; name?: unknown };
    if (typeof text !== 'string' || name !== undefined || !text.startsWith(MARK)) return undefined;
    const statement = statementName(text);
    if (!this.#named.has(statement)) {
      if (this.#named.size >= MAX_PER_CONNECTION) return undefined;
      this.#named.add(statement);
    }
    return statement;
  }
}
