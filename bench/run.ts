/**
 * `npm run bench [-- --quick] [-- --cpu-prof] [-- --only=burst,email]`: every scenario against its
 * ceiling, measured in the same run on the same machine. Prints the table and writes
 * `bench/results.json` (full run) or `bench/results.tmp.json` (--quick or --only).
 * Exits non-zero only when a scenario errors, never because a figure misses its target.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { databasePoolSize } from '../src/context';
import { killChildren } from './child';
import { type BenchEnv, type BenchOptions, createBenchEnv, engineOverrides } from './env';
import { profiled } from './profile';
import { formatTable, machineInfo, type Row } from './report';
import type { Scenario, ScenarioContext } from './scenario';
import { boardScenario } from './scenarios/board';
import { burstScenario } from './scenarios/burst';
import { bulkScenario } from './scenarios/bulk';
import { emailScenario } from './scenarios/email';
import { inboxScenario } from './scenarios/inbox';
import { loadScenario } from './scenarios/load';
import { repliesScenario } from './scenarios/replies';
import { scaleScenario } from './scenarios/scale';
import { simulateScenario } from './scenarios/simulate';
import { replyBurstScenario } from './scenarios/reply-burst';
import { replySlowSendsScenario } from './scenarios/reply-slow-sends';
import { slowSmtpScenario } from './scenarios/slow-smtp';

// Bulk before scale: scale reads the raw-insert ceiling that bulk measures.
const scenarios: Scenario[] = [
  burstScenario,
  emailScenario,
  bulkScenario,
  repliesScenario,
  loadScenario,
  scaleScenario,
  inboxScenario,
  boardScenario,
  simulateScenario,
  slowSmtpScenario,
  replySlowSendsScenario,
  replyBurstScenario,
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

type Outcome = {
  rows: Row[];
  details: Record<string, unknown>;
  errors: { scenario: string; error: string }[];
};
type Log = (message: string) => void;
const loadAverage = () => os.loadavg().map((v) => Number(v.toFixed(2)));

/** Runs the scenarios in order; one that throws is recorded and the next one still runs. */
async function runScenarios(env: BenchEnv, selected: Scenario[], log: Log): Promise<Outcome> {
  const outcome: Outcome = { rows: [], details: {}, errors: [] };
  const ceilings: ScenarioContext['ceilings'] = new Map();
  const profileDir = env.options.cpuProf ? env.options.profileDir : null;
  for (const scenario of selected) {
    log(`scenario ${scenario.name}`);
    const t0 = performance.now();
    const load0 = loadAverage();
    try {
      const result = await scenario.run({
        env,
        ceilings,
        log: (m) => log(`  ${scenario.name}: ${m}`),
        phase: (name, work) => profiled(profileDir, `${scenario.name}-${name}`, work),
      });
      outcome.rows.push(...result.rows);
      outcome.details[scenario.name] = {
        ...result.details,
        wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        // Other work on the machine during the scenario: the figures are only as quiet as this.
        loadAverage: { before: load0, after: loadAverage() },
      };
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`scenario ${scenario.name} FAILED: ${message}`);
      outcome.errors.push({ scenario: scenario.name, error: message });
      killChildren();
    }
  }
  return outcome;
}

/** The commit measured, and whether the engine's code had uncommitted changes at the start. */
function codeVersion() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', timeout: 5000 }).trim();
    } catch {
      return null;
    }
  };
  const changes = git('status', '--porcelain', '--', 'src', 'workers', 'migrations');
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedEngineChanges: changes === null ? null : changes !== '',
  };
}

/** `bench/results.json` for a full run, `bench/results.tmp.json` (git-ignored) for a partial one. */
async function writeResults(env: BenchEnv, started: Date, outcome: Outcome, table: string): Promise<string> {
  const engine = loadConfig(engineOverrides());
  const results = {
    date: started.toISOString(),
    mode: env.options.quick ? 'quick' : 'full',
    durationSeconds: Number(((Date.now() - started.getTime()) / 1000).toFixed(1)),
    machine: { ...machineInfo(), ...(await serverVersions(env)) },
    code: codeVersion(),
    // The engine runs with its defaults except where the bench must differ (see bench/env.ts).
    engineConfig: {
      STEP_CONCURRENCY: engine.STEP_CONCURRENCY,
      QUEUE_HORIZON_SECONDS: engine.QUEUE_HORIZON_SECONDS,
      MAINTENANCE_INTERVAL_SECONDS: engine.MAINTENANCE_INTERVAL_SECONDS,
      databasePoolSize: databasePoolSize(engine),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
      RATE_LIMIT_PER_MINUTE: 'unlimited (the limiter is a policy, not a capacity)',
    },
    ...outcome,
    table,
  };
  const full = !env.options.quick && env.options.only.length === 0;
  const file = new URL(full ? './results.json' : './results.tmp.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return fileURLToPath(file);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const unknown = options.only.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
    );
  const selected = scenarios.filter((s) => options.only.length === 0 || options.only.includes(s.name));
  const started = new Date();
  const log: Log = (message) =>
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
  try {
    const outcome = await runScenarios(env, selected, log);
    const table = formatTable(outcome.rows);
    process.stdout.write(`\n${table}\n\n`);
    const file = await writeResults(env, started, outcome, table);
    log(`wrote ${file}${options.cpuProf ? `; profiles in ${options.profileDir}` : ''}`);
    if (outcome.errors.length > 0)
      log(`${outcome.errors.length} scenario(s) failed: ${outcome.errors.map((e) => e.scenario).join(', ')}`);
    return outcome.errors.length > 0 ? 1 : 0;
  } finally {
    await env.close();
  }
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
