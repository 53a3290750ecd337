import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The IPC protocol between the bench and its child processes: numbered requests, answered once. */
export type ChildRequest = { id: number; cmd: string };
const ChildReply = z.looseObject({ id: z.number() });
type ChildReply = z.infer<typeof ChildReply>;
const ChildReady = z.object({ ready: z.literal(true), port: z.number().int() });
type ChildReady = z.infer<typeof ChildReady>;

export type Child = {
  port: number;
  pid: number;
  request(cmd: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Asks the child to exit cleanly (so `--cpu-prof` writes its profile), killing it after a deadline. */
  stop(): Promise<void>;
};

const running = new Set<ChildProcess>();
const cleanups = new Set<() => void>();

/** Tracks a process the bench spawned itself, and what to remove after it, for `killChildren`. */
export function trackChild(child: ChildProcess, cleanup?: () => void): () => void {
  running.add(child);
  child.on('exit', () => running.delete(child));
  if (cleanup) cleanups.add(cleanup);
  return () => {
    if (cleanup) cleanups.delete(cleanup);
  };
}

/** Kills children left over by a failed scenario; each by its own pid, never by name. */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const cleanup of cleanups) cleanup();
  cleanups.clear();
}

/**
 * Starts `bench/children/<name>.ts` in its own process (and so on its own event loop and CPU core),
 * waits for it to report its loopback port, and returns a handle to talk to it.
 */
export async function startChild(
  name: 'smtp-sink' | 'slow-smtp-sink' | 'http-server' | 'inbound-appliers',
  opts: { args?: string[]; env?: Record<string, string>; cpuProfDir?: string; label?: string } = {},
): Promise<Child> {
  const file = fileURLToPath(new URL(`./children/${name}.ts`, import.meta.url));
  const profile = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const child = fork(file, opts.args ?? [], {
    env: { ...process.env, ...opts.env },
    // tsx's loader flags come from this process, so the child runs TypeScript the same way.
    execArgv: [...process.execArgv, ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  trackChild(child);
  // A child killed under us (Ctrl-C reaches it too) must not crash the bench before it cleans up.
  child.on('error', () => {});
  const pending = new Map<number, (reply: ChildReply) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    child.on('message', (message: unknown) => {
      const ready = ChildReady.safeParse(message);
      if (ready.success) {
        clearTimeout(timer);
        resolve(ready.data.port);
        return;
      }
      const reply = ChildReply.safeParse(message);
      if (reply.success) pending.get(reply.data.id)?.(reply.data);
    });
  });
  const pid = child.pid ?? 0;
  return {
    port,
    pid,
    request(cmd, timeoutMs = 30_000) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const fail = (err: Error) => {
          clearTimeout(timer);
          pending.delete(id);
          reject(err);
        };
        const timer = setTimeout(
          () => fail(new Error(`${name} did not answer ${cmd} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        pending.set(id, (reply) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(reply);
        });
        if (!child.connected) return fail(new Error(`${name} is gone`));
        child.send({ id, cmd } satisfies ChildRequest, (err) => err && fail(err));
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ id: 0, cmd: 'stop' } satisfies ChildRequest, (err) => err && child.kill('SIGKILL'));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (opts.cpuProfDir) labelProfiles(opts.cpuProfDir, pid, opts.label ?? name);
    },
  };
}

/**
 * Node names profiles `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`, one per thread (tsx's
 * loader runs in a thread of its own); the label says which server of which scenario they are.
 */
function labelProfiles(dir: string, pid: number, label: string): void {
  for (const file of readdirSync(dir))
    if (file.startsWith('CPU.') && file.includes(`.${pid}.`))
      renameSync(path.join(dir, file), path.join(dir, `${label}-${file.slice(4)}`));
}

/** Child side: reports the port, answers requests with `handle`, exits on `stop`. */
export function serveParent(
  port: number,
  handle: (cmd: string) => Promise<Record<string, unknown>>,
  close: () => Promise<void>,
): void {
  process.on('message', (message: ChildRequest) => {
    if (message.cmd === 'stop') {
      // process.exit (not a kill) lets --cpu-prof write the profile.
      void close().finally(() => process.exit(0));
      return;
    }
    void handle(message.cmd).then(
      (reply) => process.send?.({ id: message.id, ...reply }),
      (err: unknown) => process.send?.({ id: message.id, error: String(err) }),
    );
  });
  // The parent died: nothing would ever stop us.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true, port } satisfies ChildReady);
}
