/**
 * `npm run bench [-- --quick] [-- --cpu-prof] [-- --only=burst,email]`: every scenario against its
 * ceiling, measured in the same run on the same machine. Prints the table and writes
 * `bench/results.json` (full run) or `bench/results.tmp.json` (--quick or --only).
 * Exits non-zero only when a scenario errors, never because a figure misses its target.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { killChildren } from './child';
import { type BenchEnv, type BenchOptions, createBenchEnv } from './env';
import { profiled } from './profile';
import { formatTable, machineInfo, type Row } from './report';
import type { Scenario, ScenarioContext } from './scenario';
import { burstScenario } from './scenarios/burst';
import { bulkScenario } from './scenarios/bulk';
import { emailScenario } from './scenarios/email';
import { loadScenario } from './scenarios/load';
import { repliesScenario } from './scenarios/replies';
import { scaleScenario } from './scenarios/scale';

// Bulk before scale: scale reads the raw-insert ceiling that bulk measures.
const scenarios: Scenario[] = [
  burstScenario,
  emailScenario,
  bulkScenario,
  repliesScenario,
  loadScenario,
  scaleScenario,
];

function parseOptions(argv: string[]): BenchOptions {
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  return {
    quick: argv.includes('--quick'),
    cpuProf: argv.includes('--cpu-prof'),
    profileDir: fileURLToPath(
      new URL(`./profiles/${new Date().toISOString().replace(/[:.]/g, '-')}`, import.meta.url),
    ),
    only: only ? only.split(',').filter(Boolean) : [],
  };
}

async function serverVersions(env: BenchEnv) {
  const client = new pg.Client({
    connectionString: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  await client.end();
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 3 });
  const info = await redis.info('server');
  redis.disconnect();
  return { postgres: rows[0]?.server_version ?? null, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? null };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const selected = scenarios.filter((s) => options.only.length === 0 || options.only.includes(s.name));
  const started = new Date();
  const log = (message: string) =>
    process.stderr.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(1)}s] ${message}\n`);
  log(`${options.quick ? 'quick' : 'full'} run: ${selected.map((s) => s.name).join(', ')}`);
  const env = await createBenchEnv(options);
  let interrupted = false;
  const onSignal = (signal: string) => {
    // Leave the machine as we found it even when stopped by hand.
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: cleaning up`);
    killChildren();
    void env.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const errors: { scenario: string; error: string }[] = [];
  const ceilings: ScenarioContext['ceilings'] = new Map();
  const profileDir = options.cpuProf ? options.profileDir : null;
  try {
    for (const scenario of selected) {
      log(`scenario ${scenario.name}`);
      const t0 = performance.now();
      const load0 = os.loadavg().map((v) => Number(v.toFixed(2)));
      try {
        const result = await scenario.run({
          env,
          ceilings,
          log: (m) => log(`  ${scenario.name}: ${m}`),
          phase: (name, work) => profiled(profileDir, `${scenario.name}-${name}`, work),
        });
        rows.push(...result.rows);
        details[scenario.name] = {
          ...result.details,
          wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
          // Other work on the machine during the scenario: the figures are only as quiet as this.
          loadAverage: { before: load0, after: os.loadavg().map((v) => Number(v.toFixed(2))) },
        };
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        log(`scenario ${scenario.name} FAILED: ${message}`);
        errors.push({ scenario: scenario.name, error: message });
        killChildren();
      }
    }
    const table = formatTable(rows);
    process.stdout.write(`\n${table}\n\n`);
    const machine = { ...machineInfo(), ...(await serverVersions(env)) };
    const results = {
      date: started.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      durationSeconds: Number(((Date.now() - started.getTime()) / 1000).toFixed(1)),
      machine,
      rows,
      details,
      errors,
      table,
    };
    const full = !options.quick && options.only.length === 0;
    const file = new URL(full ? './results.json' : './results.tmp.json', import.meta.url);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${fileURLToPath(file)}${options.cpuProf ? `; profiles in ${options.profileDir}` : ''}`);
  } finally {
    await env.close();
  }
  if (errors.length > 0)
    log(`${errors.length} scenario(s) failed: ${errors.map((e) => e.scenario).join(', ')}`);
  return errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    killChildren();
    process.exit(1);
  },
);
