import { fork } from 'node:child_process';
import { readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Child, type ChildRequest, trackChild } from './child';
import type { BenchOptions } from './env';

const Reply = z.looseObject({ id: z.number() });
const Ready = z.object({ ready: z.literal(true) });

/**
 * Starts `bench/children/inbox-worker.ts` (the engine's workers, inbox reader included) in its own
 * process with the stage's environment, speaking the protocol of `startChild`, which only knows its
 * own two servers.
 */
export async function startInboxWorker(
  options: BenchOptions,
  env: Record<string, string>,
  label: string,
): Promise<Child> {
  const file = fileURLToPath(new URL('./children/inbox-worker.ts', import.meta.url));
  const profile = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [];
  const child = fork(file, [], {
    env: { ...process.env, ...env },
    // --expose-gc only lets the bench ask for a collection after the figures are taken.
    execArgv: [...process.execArgv, '--expose-gc', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  trackChild(child);
  child.on('error', () => {});
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  await new Promise<void>((resolve, reject) => {
    // The whole engine is compiled by tsx at start: on a loaded 2-core box that alone took over 30 s.
    const timer = setTimeout(() => reject(new Error('the inbox worker did not start within 120 s')), 120_000);
    child.once('exit', (code) =>
      reject(new Error(`the inbox worker exited with ${code} before it was ready`)),
    );
    child.on('message', (message: unknown) => {
      if (Ready.safeParse(message).success) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const reply = Reply.safeParse(message);
      if (reply.success) pending.get(reply.data.id)?.(reply.data);
    });
  });
  const pid = child.pid ?? 0;
  let nextId = 0;
  return {
    port: 0,
    pid,
    request(cmd, timeoutMs = 30_000) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the inbox worker did not answer ${cmd} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(reply);
        });
        if (!child.connected) reject(new Error('the inbox worker is gone'));
        else child.send({ id, cmd } satisfies ChildRequest);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ id: 0, cmd: 'stop' } satisfies ChildRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (options.cpuProf)
        for (const name of readdirSync(options.profileDir))
          if (name.startsWith('CPU.') && name.includes(`.${pid}.`))
            renameSync(
              path.join(options.profileDir, name),
              path.join(options.profileDir, `${label}-${name.slice(4)}`),
            );
    },
  };
}

/** The worker's memory, in MB, from its own `process.memoryUsage()` (after a full GC if asked). */
export async function workerMemory(
  worker: Child,
  afterGc = false,
): Promise<{ rssMb: number; heapUsedMb: number }> {
  const m = await worker.request(afterGc ? 'memory-after-gc' : 'memory');
  const mb = (v: unknown) => Number(((typeof v === 'number' ? v : Number.NaN) / 1024 / 1024).toFixed(1));
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) };
}
