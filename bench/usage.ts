import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Child } from './child';
import { z } from 'zod';
import { queryCount, statementCounts, statementsPerOperation } from './query-counter';

/**
 * What a piece of work cost, counted rather than timed: statements sent to Postgres, CPU of the Node
 * process that did it, and CPU of the Postgres backends serving the stage's database. On a shared
 * 2-core machine wall-clock rates move with everyone else's load; these do not.
 */
export type Usage = { queries: number; nodeCpuMs: number; pgCpuMs: number };

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** utime + stime of one process in ms, or 0 when it is gone or /proc is not there. */
export function processCpuMs(pid: number): number {
  try {
    // Fields after the command (which may contain spaces) start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU so far of every Postgres backend connected to the database at `databaseUrl`. */
export async function pgBackendsCpuMs(databaseUrl: string): Promise<Map<number, number>> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1',
      [name],
    );
    return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]));
  } finally {
    await client.end();
  }
}

const sumDelta = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ms]) => sum + Math.max(0, ms - (before.get(pid) ?? 0)), 0);

export type UsageProbe = { stop(operations: number): Promise<PerOperation> };
export type PerOperation = {
  queries: number;
  nodeCpuMs: number;
  pgCpuMs: number;
  /** The statements behind `queries`, by their first words. */
  statements?: { statement: string; perOperation: number }[];
};

type NodeReading = { queries: number; cpuMs: number; statements: Map<string, number> };

const StatementsReply = z.array(z.tuple([z.string(), z.number()]));

async function nodeReading(server: Child | null): Promise<NodeReading> {
  if (!server) {
    const cpu = process.cpuUsage();
    return { queries: queryCount(), cpuMs: (cpu.user + cpu.system) / 1000, statements: statementCounts() };
  }
  const reply = await server.request('usage');
  const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
  const statements = StatementsReply.safeParse(reply.statements);
  return {
    queries: num(reply.queries),
    cpuMs: num(reply.cpuMs),
    statements: new Map(statements.success ? statements.data : []),
  };
}

/**
 * Starts counting for work done by `server` (a child process) or, when null, by this process, and by
 * the Postgres backends of `databaseUrl` (none counted when null); `stop` divides by the number of
 * operations done in between.
 */
export async function startUsage(server: Child | null, databaseUrl: string | null): Promise<UsageProbe> {
  const backends = async () => (databaseUrl ? pgBackendsCpuMs(databaseUrl) : new Map<number, number>());
  const node0 = await nodeReading(server);
  const pg0 = await backends();
  return {
    async stop(operations) {
      const node1 = await nodeReading(server);
      const pg1 = await backends();
      const per = (v: number) => Number((v / Math.max(1, operations)).toFixed(2));
      return {
        queries: per(node1.queries - node0.queries),
        nodeCpuMs: per(node1.cpuMs - node0.cpuMs),
        pgCpuMs: per(sumDelta(pg0, pg1)),
        statements: statementsPerOperation(node0.statements, node1.statements, operations),
      };
    },
  };
}
