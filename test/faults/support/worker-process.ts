import { type ChildProcess, spawn } from 'node:child_process';
import { repoRoot } from '../../platform/support';
import { waitFor } from '../../helpers/engine';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type WorkerProcess = {
  pid: number;
  exited: Promise<Exit>;
  running(): boolean;
  /** The process's log (pino JSON lines), for diagnosing a failed scenario. */
  output(): string;
  /** SIGKILL, as a crash or an OOM kill would: no shutdown code runs. */
  crash(): Promise<Exit>;
  /** SIGTERM, as an orchestrator stopping the container. */
  terminate(): Promise<Exit>;
};

const MAX_LOG = 200_000;

/**
 * The real engine entry (`src/server.ts`) as a worker process: `ROLE=worker` plus `env`. Run with
 * `node --import tsx`, one process, so a signal reaches the engine itself (npx would orphan it).
 * Resolves once the engine logged that it started, so a scenario knows it is taking work.
 */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ROLE: 'worker', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-MAX_LOG);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = async (sig: NodeJS.Signals) => {
    if (running()) child.kill(sig);
    return exited;
  };
  try {
    await waitFor(async () => log.includes('"engine started"') || !running(), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'the worker process to start',
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (!running()) throw new Error(`worker process exited during start-up:\n${log.slice(-4000)}`);
  return {
    pid: child.pid ?? -1,
    exited,
    running,
    output: () => log,
    crash: () => signal('SIGKILL'),
    terminate: () => signal('SIGTERM'),
  };
}
