import autocannon from 'autocannon';
import { startOwnCpu } from './budget';
import { type Child, startChild } from './child';
import type { BenchOptions } from './env';
import { startUsage } from './usage';

export type HttpFigures = {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts included. */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
};

/** Runs autocannon against a loopback URL; a run that cannot start is an error, not a figure. */
export async function cannon(opts: autocannon.Options): Promise<HttpFigures> {
  if (!/^http:\/\/127\.0\.0\.1:/.test(String(opts.url)))
    throw new Error(`the bench only loads 127.0.0.1, not ${opts.url}`);
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ timeout: 30, ...opts }, (err, done: autocannon.Result) =>
      err ? reject(err) : resolve(done),
    );
    instance.on('response', () => {
      lastResponseAt = performance.now();
    });
  });
  // With `amount`, autocannon stops at its next one-second tick after the last answer and reports
  // that duration, whole seconds (a 6.2 s run counts as 7): such a run is timed to its last answer.
  const seconds = opts.amount ? (lastResponseAt - startedAt) / 1000 : result.duration;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]),
  );
  const requests = result.requests.total;
  return {
    requests,
    seconds,
    perSecond: requests / Math.max(seconds, 0.001),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
  };
}

/** CPU per request: the load generator (this process), the server, and Postgres behind it. */
export type RequestCpu = { clientMs: number; serverMs: number; postgresMs: number };

/** `cannon`, with what each request cost in CPU; this process must be doing nothing else. */
async function measuredCannon(
  opts: autocannon.Options,
  server: Child,
  databaseUrl: string | null,
): Promise<HttpFigures & { cpu: RequestCpu }> {
  const client = startOwnCpu();
  const usage = await startUsage(server, databaseUrl);
  const figures = await cannon(opts);
  const clientMs = client.stop(figures.requests);
  const used = await usage.stop(figures.requests);
  return { ...figures, cpu: { clientMs, serverMs: used.nodeCpuMs, postgresMs: used.pgCpuMs } };
}

/** Starts an HTTP child server (`empty` bare Fastify, or the engine app) with profiling if asked. */
export function startServer(
  options: BenchOptions,
  mode: 'empty' | 'durable' | 'engine',
  label: string,
  env: Record<string, string> = {},
): Promise<Child> {
  return startChild('http-server', {
    args: [mode],
    env,
    label,
    ...(options.cpuProf ? { cpuProfDir: options.profileDir } : {}),
  });
}

/** Ceiling: bare Fastify answering an empty POST route, at `connections` for `seconds`. */
export async function emptyRouteCeiling(
  options: BenchOptions,
  connections: number,
  seconds: number,
): Promise<HttpFigures & { cpu: RequestCpu }> {
  const server = await startServer(options, 'empty', `empty-route-${connections}`);
  try {
    // A short warm-up, so the JIT has compiled the hot path before the measured run.
    await cannon({ url: `http://127.0.0.1:${server.port}/empty`, method: 'POST', connections, duration: 1 });
    return await measuredCannon(
      {
        url: `http://127.0.0.1:${server.port}/empty`,
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
        connections,
        duration: seconds,
      },
      server,
      null,
    );
  } finally {
    await server.stop();
  }
}

/**
 * Reference for webhooks that are acknowledged durably: bare Fastify committing one row per POST
 * into `databaseUrl`, at `connections` for `seconds`. Not the ceiling (the empty route is),
 * but what one commit per request costs on the same machine.
 */
export async function durableRouteCeiling(
  options: BenchOptions,
  databaseUrl: string,
  connections: number,
  seconds: number,
): Promise<HttpFigures & { cpu: RequestCpu }> {
  const server = await startServer(options, 'durable', `durable-route-${connections}`, {
    DATABASE_URL: databaseUrl,
  });
  try {
    const request = {
      url: `http://127.0.0.1:${server.port}/durable`,
      method: 'POST' as const,
      body: JSON.stringify({ type: 'reply', text: 'Interested, call me Tuesday.' }),
      headers: { 'content-type': 'application/json' },
      connections,
    };
    await cannon({ ...request, duration: 1 });
    return await measuredCannon({ ...request, duration: seconds }, server, databaseUrl);
  } finally {
    await server.stop();
  }
}
