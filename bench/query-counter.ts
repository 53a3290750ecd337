import pg from 'pg';

let installed = false;
let queries = 0;

/**
 * Counts every statement this process sends to Postgres (drizzle and pg both end in
 * `Client.prototype.query`), so a scenario can report round trips per step: the first thing to read
 * when a step costs more than it should. Installed once; read the counter before and after.
 */
export function queryCount(): number {
  if (!installed) {
    installed = true;
    const original = pg.Client.prototype.query;
    // biome-ignore lint/suspicious/noExplicitAny: a pass-through wrapper over pg's many overloads
    pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
      queries += 1;
      return Reflect.apply(original, this, args);
    } as typeof original;
  }
  return queries;
}
