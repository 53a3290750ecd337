import type { Reporter, TestModule } from 'vitest/node';
import type { FaultRow } from './support/summary';

const columns: { key: keyof FaultRow; title: string }[] = [
  { key: 'scenario', title: 'scenario' },
  { key: 'expected', title: 'steps expected' },
  { key: 'sent', title: 'sent' },
  { key: 'duplicates', title: 'duplicates' },
  { key: 'ambiguous', title: 'ambiguous' },
  { key: 'held', title: 'held' },
  { key: 'stopped', title: 'stopped' },
  { key: 'lost', title: 'lost' },
];

/** Prints one table of every scenario's row (see `report`) when the fault suite ends. */
export default class FaultSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows = testModules
      .flatMap((m) => [...m.children.allTests()])
      .flatMap((t) => {
        const row = t.meta().fault;
        return row
          ? [{ ...row, scenario: t.result().state === 'failed' ? `${row.scenario} (FAILED)` : row.scenario }]
          : [];
      })
      .sort((a, b) => a.scenario.localeCompare(b.scenario));
    if (rows.length === 0) return;
    const cells = [columns.map((c) => c.title), ...rows.map((r) => columns.map((c) => String(r[c.key])))];
    const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
    const format = (line: string[]) =>
      `| ${line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
    const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
    const [head, ...body] = cells;
    const table = [format(head ?? []), rule, ...body.map(format)].join('\n');
    process.stdout.write(`\nFault suite summary (duplicates and lost must be 0)\n${table}\n\n`);
  }
}
