import { readFile, stat } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Deps } from '../../context';
import { sequences } from '../../db/schema/index';
import { existingWorkspace, splitArgs } from '../../lib/cli-args';
import { HttpError } from '../http/errors';
import { SimulateBody } from './simulate.routes';
import { type SimulateOutcome, simulateSequence } from './simulate.service';

export const SIMULATE_USAGE =
  'sequences:simulate <sequence id> [--leads <id,id,…|file>] [--sample <n>] [--start <ISO instant>] [--seed <text>] [--version <n>] [--workspace <workspace id>]';

/** Where the chart goes: a terminal gets it; a pipe or a file gets nothing. */
export type ChartSink = { isTTY?: boolean; write(text: string): unknown };

/** Lead ids given inline (comma-separated) or as a file of ids (commas, spaces or one per line). */
async function leadIdsOf(value: string): Promise<string[]> {
  const isFile = await stat(value).then(
    (s) => s.isFile(),
    () => false,
  );
  const text = isFile ? await readFile(value, 'utf8') : value;
  return text
    .split(/[\s,;]+/)
    .map((v) => v.trim())
    .filter((v) => v !== '' && v.toLowerCase() !== 'id' && v.toLowerCase() !== 'leadid');
}

/**
 * `npm run -s cli -- sequences:simulate <id> --leads a.csv`: the API's simulation, as JSON on stdout;
 * on a terminal, stderr also gets a per-day chart and the bottleneck sentence.
 */
export async function simulateCommand(
  deps: Pick<Deps, 'db'>,
  args: string[],
  chart: ChartSink = process.stderr,
): Promise<SimulateOutcome> {
  const { options, positional } = splitArgs(
    args,
    ['leads', 'sample', 'start', 'seed', 'version', 'workspace'],
    [],
    SIMULATE_USAGE,
  );
  const [sequenceId] = positional;
  if (!sequenceId || !z.uuid().safeParse(sequenceId).success) throw new Error(`usage: ${SIMULATE_USAGE}`);
  const [sequence] = await deps.db
    .select({ workspaceId: sequences.workspaceId })
    .from(sequences)
    .where(eq(sequences.id, sequenceId));
  if (!sequence) throw new Error(`sequence ${sequenceId} not found`);
  const workspaceId = options.workspace
    ? await existingWorkspace(deps.db, options.workspace, SIMULATE_USAGE)
    : sequence.workspaceId;
  const parsed = SimulateBody.safeParse({
    leadIds: options.leads !== undefined ? await leadIdsOf(options.leads) : undefined,
    sample: options.sample !== undefined ? Number(options.sample) : options.leads ? undefined : 100,
    start: options.start,
    seed: options.seed,
    version: options.version !== undefined ? Number(options.version) : undefined,
  });
  if (!parsed.success)
    throw new Error(
      parsed.error.issues.map((i) => `--${String(i.path[0] ?? 'leads')}: ${i.message}`).join('\n'),
    );
  let result: SimulateOutcome | null;
  try {
    result = await simulateSequence(deps, workspaceId, sequenceId, parsed.data);
  } catch (err) {
    if (err instanceof HttpError) throw new Error(`${err.code}: ${err.message}`);
    throw err;
  }
  if (!result) throw new Error(`sequence ${sequenceId} not found in workspace ${workspaceId}`);
  if (chart.isTTY) chart.write(renderChart(result));
  return result;
}

/** Per day, the planned sends as a bar against the day's total cap; then the summary. */
export function renderChart(result: SimulateOutcome): string {
  const rows = result.days.map((d) => {
    const cap = d.mailboxes.reduce((n, m) => n + m.cap, 0);
    const cut = result.bottlenecks.filter((b) => b.date === d.date).reduce((n, b) => n + b.cut, 0);
    return { date: d.date, planned: d.planned, cap, cut };
  });
  const widest = Math.max(1, ...rows.map((r) => Math.max(r.planned, r.cap)));
  const scale = (n: number) => Math.round((n / widest) * 40);
  const lines = rows.map((r) => {
    const bar = '█'.repeat(scale(r.planned)).padEnd(40, ' ');
    const cap = r.cap > 0 ? ` cap ${r.cap}` : '';
    const cut = r.cut > 0 ? `  (${r.cut} put off)` : '';
    return `${r.date}  ${bar} ${String(r.planned).padStart(5)}${cap}${cut}`;
  });
  return `${['date        planned', ...lines, '', result.summary].join('\n')}\n`;
}
