import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/**
 * `--cpu-prof` for one scenario of this process: a V8 CPU profile written as
 * `<dir>/<name>.cpuprofile` (open it in Chrome DevTools, or `npx tsx bench/profile-summary.ts <file>`).
 * Child servers are profiled by node's own `--cpu-prof` flag, into the same directory.
 */
export async function profiled<T>(dir: string | null, name: string, work: () => Promise<T>): Promise<T> {
  if (!dir) return work();
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
