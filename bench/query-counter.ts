import pg from 'pg';

let installed = false;
let queries = 0;
const byStatement = new Map<string, number>();

/** A statement's head, whitespace collapsed: enough to tell `begin`, a claim and an insert apart. */
function head(args: unknown[]): string {
  const first = args[0];
  const text =
    typeof first === 'string'
      ? first
      : typeof first === 'object' && first && 'text' in first
        ? first.text
        : '';
  // Cut before collapsing: a 10,000-row insert's text is megabytes, and this runs on every statement.
  return String(text).slice(0, 200).replace(/\s+/g, ' ').trim().slice(0, 60);
}

function install(): void {
  if (installed) return;
  installed = true;
  const original = pg.Client.prototype.query;
  // biome-ignore lint/suspicious/noExplicitAny: a pass-through wrapper over pg's many overloads
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    queries += 1;
    const key = head(args);
    byStatement.set(key, (byStatement.get(key) ?? 0) + 1);
    return Reflect.apply(original, this, args);
  } as typeof original;
}

/**
 * Counts every statement this process sends to Postgres (drizzle and pg both end in
 * `Client.prototype.query`), so a scenario can report round trips per step: the first thing to read
 * when a step costs more than it should. Installed once; read the counter before and after.
 */
export function queryCount(): number {
  install();
  return queries;
}

/** Statements sent so far, by their first 60 characters. */
export function statementCounts(): Map<string, number> {
  install();
  return new Map(byStatement);
}

/** Which statements were sent between two `statementCounts()` readings, per operation, most first. */
export function statementsPerOperation(
  before: Map<string, number>,
  after: Map<string, number>,
  operations: number,
) {
  return [...after]
    .map(([statement, n]) => ({
      statement,
      perOperation: (n - (before.get(statement) ?? 0)) / Math.max(1, operations),
    }))
    .filter((s) => s.perOperation >= 0.05)
    .sort((a, b) => b.perOperation - a.perOperation)
    .map((s) => ({ ...s, perOperation: Number(s.perOperation.toFixed(2)) }));
}
