import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { FaultRow, InboxRow } from './support/summary';

type Column<Row> = { key: keyof Row; title: string };

const faultColumns: Column<FaultRow>[] = [
  { key: 'scenario', title: 'scenario' },
  { key: 'expected', title: 'steps expected' },
  { key: 'sent', title: 'sent' },
  { key: 'duplicates', title: 'duplicates' },
  { key: 'ambiguous', title: 'ambiguous' },
  { key: 'held', title: 'held' },
  { key: 'stopped', title: 'stopped' },
  { key: 'lost', title: 'lost' },
];
/** Shown only when a scenario read its mailbox's inbox (`–` for the others). */
const readColumns: Column<FaultRow>[] = [
  { key: 'ambiguousAccepted', title: 'ambiguous, server had it' },
  { key: 'settledFromMailbox', title: 'settled from Sent' },
];

const inboxColumns: Column<InboxRow>[] = [
  { key: 'scenario', title: 'scenario' },
  { key: 'expected', title: 'messages expected' },
  { key: 'actedOn', title: 'acted on once' },
  { key: 'missed', title: 'missed' },
  { key: 'duplicates', title: 'duplicates' },
  { key: 'unexpected', title: 'read, not expected' },
  { key: 'readers', title: 'readers' },
];

/** Prints the fault table (and the inbox table, when inbox scenarios ran) when the fault suite ends. */
export default class FaultSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const tests = testModules.flatMap((m) => [...m.children.allTests()]);
    const faults = rowsOf(tests, (t) => [
      ...(t.meta().fault ? [t.meta().fault] : []),
      ...(t.meta().faults ?? []),
    ]);
    const inbox = rowsOf(tests, (t) => t.meta().inbox ?? []);
    if (faults.length > 0) {
      const extra = readColumns.filter((c) => faults.some((r) => r[c.key] !== undefined));
      const columns = [...faultColumns, ...extra];
      process.stdout.write(
        `\nFault suite summary (duplicates and lost must be 0)\n${table(columns, faults)}\n\n`,
      );
    }
    if (inbox.length > 0)
      process.stdout.write(
        `Inbox faults (missed, duplicates and read-not-expected must be 0)\n${table(inboxColumns, inbox)}\n\n`,
      );
  }
}

/** Every row the tests attached, a failed test's marked so, sorted by scenario. */
function rowsOf<Row extends { scenario: string }>(
  tests: TestCase[],
  rowsOfTest: (t: TestCase) => (Row | undefined)[],
): Row[] {
  return tests
    .flatMap((t) =>
      rowsOfTest(t).flatMap((row) =>
        row
          ? [{ ...row, scenario: t.result().state === 'failed' ? `${row.scenario} (FAILED)` : row.scenario }]
          : [],
      ),
    )
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

function table<Row>(columns: Column<Row>[], rows: Row[]): string {
  const cells = [
    columns.map((c) => c.title),
    ...rows.map((r) => columns.map((c) => (r[c.key] === undefined ? '–' : String(r[c.key])))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  const format = (line: string[]) =>
    `| ${line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const [head, ...body] = cells;
  return [format(head ?? []), rule, ...body.map(format)].join('\n');
}
