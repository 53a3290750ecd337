import { execFile } from 'node:child_process';
import { repoRoot } from '../platform/support';
import { testEnv } from './engine';

export type CliRun = { code: number; stdout: string; stderr: string };

/**
 * Runs the real CLI (`src/cli.ts` under tsx) against `databaseUrl` and resolves with its exit code
 * and output whatever the code, so a test can check refusals as well as results.
 */
export function runCli(databaseUrl: string, args: string[]): Promise<CliRun> {
  const env = { ...process.env, ...testEnv({ DATABASE_URL: databaseUrl }), LOG_LEVEL: 'silent' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: repoRoot, env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
