import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { trackChild } from './child';
import { waitUntil } from './wait';

export type PrivateRedis = { url: string; usedMemory(): Promise<number>; stop(): Promise<void> };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * A redis-server of the bench's own on loopback, without persistence, so `INFO memory` counts only
 * what the scenario put there (the shared Redis also holds other runs' keys). Stopped and its
 * directory removed by `stop`.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'outreach-bench-redis-'));
  const child: ChildProcess = spawn(
    process.env.BENCH_REDIS_SERVER ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const untrack = trackChild(child, removeDir);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {});
  const stop = async () => {
    client.disconnect();
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    removeDir();
    untrack();
  };
  try {
    await waitUntil(() => accepts(port), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the private redis-server',
    });
    await client.connect();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async usedMemory() {
      const info = await client.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    },
    stop,
  };
}
