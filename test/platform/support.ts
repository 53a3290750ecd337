import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { waitFor } from '../helpers/engine';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A port nobody listens on right now (the OS picks it; we close it again at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** A database URL on the test server whose database does not exist yet. */
export function freshDatabaseUrl(): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/outreach_found_${randomBytes(5).toString('hex')}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type ServerProcess = {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** SIGKILLs the process group if still running; for cleanup after a failed assertion. */
  kill(): Promise<void>;
};

/**
 * Runs the real entry point, `node --import tsx src/server.ts` (what `npm start` runs), with `env`
 * on top of ours. Not through npx: npm does not forward SIGTERM to its child (it dies and orphans
 * the engine), and the tsx CLI force-kills a child slow to acknowledge a signal, so only node
 * itself as the direct child lets a test observe the graceful shutdown.
 * `viaNpx` runs it exactly as a user types it, for exits that involve no signal.
 */
export function spawnServer(env: Record<string, string>, opts: { viaNpx?: boolean } = {}): ServerProcess {
  const [command, args] = opts.viaNpx
    ? ['npx', ['tsx', 'src/server.ts']]
    : [process.execPath, ['--import', 'tsx', 'src/server.ts']];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so cleanup can kill tsx and the node process it runs together.
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

/** Resolves with the exit, or rejects when the process is still running after `ms`. */
export async function exitWithin(server: ServerProcess, ms: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([server.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** GETs `url`; null when nothing answers (connection refused, reset). */
export async function tryGet(url: string): Promise<Response | null> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch {
    return null;
  }
}

export type PrivateRedis = { port: number; url: string; stop(): Promise<void> };

/**
 * A throwaway `redis-server` child on `port`, with nothing on disk, so a test can stop it,
 * start it again on the same port, or give it a bad eviction policy without touching the shared one.
 */
export async function startPrivateRedis(port: number, extraArgs: string[] = []): Promise<PrivateRedis> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await waitFor(
    async () => {
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        probe.disconnect();
        return false;
      }
    },
    { timeoutMs: 10_000, what: `redis-server on port ${port}` },
  );
  probe.disconnect();
  return {
    port,
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Deletes every key under a queue prefix on the shared Redis (what a spawned engine left behind). */
export async function deleteQueueKeys(prefix: string, url = 'redis://127.0.0.1:6379'): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
