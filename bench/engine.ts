import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/api/app';
import { type Config, loadConfig } from '../src/config';
import { createDeps, type Deps } from '../src/context';
import type { Channel } from '../src/engine/channel';
import type { Channels } from '../src/engine/step-runner';
import { createLogger } from '../src/logger';
import { type RunningWorkers, startWorkers } from '../workers/index';
import { ADMIN_TOKEN, type Stage } from './env';

/** The engine in this process: deps, the app for set-up calls (`inject`, never listening), workers. */
export type BenchEngine = {
  config: Config;
  deps: Deps;
  app: FastifyInstance;
  /** Starts the real workers (step processor and background loops), as `ROLE=worker` would. */
  startWorkers(channels?: Channels): Promise<RunningWorkers>;
  close(): Promise<void>;
};

export async function startBenchEngine(stage: Stage): Promise<BenchEngine> {
  const config = loadConfig(stage.env);
  const deps = createDeps(config, createLogger(config.LOG_LEVEL));
  const app = await buildApp(deps);
  await app.ready();
  let workers: RunningWorkers | null = null;
  return {
    config,
    deps,
    app,
    async startWorkers(channels) {
      workers = await startWorkers(deps, { channels });
      return workers;
    },
    async close() {
      await workers?.close(5_000);
      await app.close();
      await deps.close();
    },
  };
}

/**
 * The bench's no-op channel: every channel step "sends" instantly, so the burst measures the engine
 * (claim, advance, scheduling, queue) and nothing else. Bench-only, never a product default.
 */
export function noopChannels(): Channels {
  const channel: Channel = {
    stepTypes: ['email', 'linkedin_visit', 'linkedin_invite', 'linkedin_message'],
    // Nothing leaves, so the engine need not record a hand-off first: like the email channel,
    // whose slot take records it in a statement it makes anyway, a step costs no extra statement.
    marksHandOff: true,
    send: async () => ({ kind: 'sent' }),
  };
  return new Map(channel.stepTypes.map((t) => [t, channel] as const));
}

/** A set-up call through the public API; anything but 2xx is a bench error, not a figure. */
export async function api<T>(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH',
  url: string,
  opts: { key?: string; payload?: object } = {},
): Promise<T> {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${opts.key ?? ADMIN_TOKEN}` },
    ...(opts.payload === undefined ? {} : { payload: opts.payload }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
  return res.json<T>();
}
