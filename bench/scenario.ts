import type { Throughput } from './ceilings/bullmq';
import type { BenchEnv } from './env';
import type { Row } from './report';

/** What every scenario gets: the run's environment and the ceilings measured so far in this run. */
export type ScenarioContext = {
  env: BenchEnv;
  ceilings: Map<string, Throughput>;
  log(message: string): void;
  /** Runs one measured phase; with `--cpu-prof` it is profiled into `<scenario>-<phase>.cpuprofile`. */
  phase<T>(name: string, work: () => Promise<T>): Promise<T>;
};

export type ScenarioResult = { rows: Row[]; details: Record<string, unknown> };

export type Scenario = {
  name: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
};

export const perSecond = (value: number) => ({ value, unit: '/s' });
export const round = (value: number, digits = 2) => Number(value.toFixed(digits));

export const roundThroughput = (t: Throughput) => ({
  count: t.count,
  seconds: round(t.seconds),
  perSecond: round(t.perSecond),
  ...(t.cost ? { cost: t.cost } : {}),
});
