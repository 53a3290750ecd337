import http from 'node:http';
import { percentile } from './report';

export type PacedRequest = { body: string; headers: Record<string, string> };
export type PacedResult = {
  /** Milliseconds from writing each request to the end of its answer, in request order. */
  latenciesMs: number[];
  statuses: number[];
  seconds: number;
};

/**
 * POSTs `count` requests to a loopback URL at a steady `ratePerSecond`, at most `maxInFlight` at
 * once, timing each one: autocannon reports only the run's percentiles, and the figure wanted here
 * is the latency of particular requests (the replies to leads whose send hangs), at a realistic
 * arrival rate rather than at saturation, where queueing alone would set the percentiles.
 */
export async function pacedPosts(
  url: string,
  count: number,
  build: (i: number) => PacedRequest,
  opts: { ratePerSecond: number; maxInFlight: number },
): Promise<PacedResult> {
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') throw new Error(`the bench only loads 127.0.0.1, not ${url}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxInFlight });
  const latenciesMs = new Array<number>(count).fill(0);
  const statuses = new Array<number>(count).fill(0);
  let inFlight = 0;
  let freed: (() => void) | null = null;
  const post = (i: number, request: PacedRequest) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latenciesMs[i] = performance.now() - started;
            statuses[i] = res.statusCode ?? 0;
            resolve();
          });
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        latenciesMs[i] = performance.now() - started;
        statuses[i] = 0;
        resolve();
      });
      req.end(request.body);
    }).finally(() => {
      inFlight -= 1;
      freed?.();
    });
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / opts.ratePerSecond - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= opts.maxInFlight) await new Promise<void>((r) => (freed = r));
    inFlight += 1;
    pending.push(post(i, build(i)));
  }
  await Promise.all(pending);
  agent.destroy();
  return { latenciesMs, statuses, seconds: (performance.now() - t0) / 1000 };
}

export const latencySummary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const r = (v: number) => Number(v.toFixed(1));
  return {
    count: sorted.length,
    p50: r(percentile(sorted, 0.5)),
    p99: r(percentile(sorted, 0.99)),
    max: r(sorted.at(-1) ?? 0),
  };
};
