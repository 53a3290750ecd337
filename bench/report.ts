import os from 'node:os';

/** A measured quantity with its unit. */
export type Figure = { value: number; unit: string };

/**
 * One line of the results table. `ratio` is always engine ÷ ceiling: for a throughput higher is
 * better, for a cost (lateness, bytes) lower is; the target says which.
 */
export type Row = {
  scenario: string;
  engine: Figure;
  ceiling: (Figure & { what: string }) | null;
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  detail?: string;
};

/** A row for a throughput-like figure (more is better) against its ceiling and a minimum ratio. */
export function throughputRow(
  scenario: string,
  engine: Figure,
  ceiling: (Figure & { what: string }) | null,
  minRatio: number | null,
  detail?: string,
): Row {
  const ratio = ceiling && ceiling.value > 0 ? engine.value / ceiling.value : null;
  return {
    scenario,
    engine,
    ceiling,
    ratio,
    target: minRatio === null ? null : `≥ ${minRatio} × ceiling`,
    met: minRatio === null || ratio === null ? null : ratio >= minRatio,
    detail,
  };
}

const formatNumber = (v: number) =>
  v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2);
export const formatFigure = (f: Figure) => `${formatNumber(f.value)} ${f.unit}`;

/** The table as Markdown, so the same text goes to the terminal and into the README. */
export function formatTable(rows: Row[]): string {
  const header = ['scenario', 'engine', 'ceiling (same run)', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [
    r.scenario,
    formatFigure(r.engine),
    r.ceiling ? `${formatFigure(r.ceiling)} (${r.ceiling.what})` : '—',
    r.ratio === null ? '—' : r.ratio.toFixed(2),
    r.target ?? '—',
    r.met === null ? '—' : r.met ? 'yes' : '**no**',
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

/** What the figures were measured on: they only mean something next to the machine. */
export function machineInfo() {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] ?? 0;
}
