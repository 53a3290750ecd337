import { describe, expect, it } from 'vitest';
import { type BatchRow, type ExistingLead, planBatch } from '../../../src/api/leads/batch-merge';

type V = Record<string, string>;
const row = (index: number, email: string | null, url: string | null, value: V = {}): BatchRow<V> => ({
  index,
  emailKey: email,
  linkedinUrl: url,
  value,
});
const lead = (id: string, email: string | null, url: string | null): ExistingLead => ({
  id,
  emailKey: email,
  linkedinUrl: url,
});
const combine = (a: V, b: V) => ({ ...a, ...b });

/** Groups as [indexes, leadId], failures as indexes: what each case is about. */
const summary = (rows: BatchRow<V>[], existing: ExistingLead[] = []) => {
  const plan = planBatch(rows, existing, combine);
  return {
    groups: plan.groups.map((g) => [g.indexes, g.leadId]),
    failed: plan.failed.map((f) => f.index),
  };
};

describe('planBatch', () => {
  const cases: {
    name: string;
    rows: BatchRow<V>[];
    existing?: ExistingLead[];
    groups: unknown[];
    failed: number[];
  }[] = [
    { name: 'empty batch', rows: [], groups: [], failed: [] },
    {
      name: 'distinct rows stay apart',
      rows: [row(0, 'a', null), row(1, 'b', null), row(2, null, 'u')],
      groups: [
        [[0], null],
        [[1], null],
        [[2], null],
      ],
      failed: [],
    },
    {
      name: 'same email merges',
      rows: [row(0, 'a', null), row(1, 'a', null)],
      groups: [[[0, 1], null]],
      failed: [],
    },
    {
      name: 'linked through another row: email, then email+url, then url',
      rows: [row(0, 'a', null), row(1, 'a', 'u'), row(2, null, 'u')],
      groups: [[[0, 1, 2], null]],
      failed: [],
    },
    {
      name: 'a row joining two groups of the batch fails alone',
      rows: [row(0, 'a', null), row(1, null, 'u'), row(2, 'a', 'u')],
      groups: [
        [[0], null],
        [[1], null],
      ],
      failed: [2],
    },
    {
      name: 'matches an existing lead by email or by url',
      rows: [row(0, 'a', null), row(1, null, 'v')],
      existing: [lead('A', 'a', null), lead('B', null, 'v')],
      groups: [
        [[0], 'A'],
        [[1], 'B'],
      ],
      failed: [],
    },
    {
      name: 'email of one existing lead and url of another: the row fails, not its neighbours',
      rows: [row(0, 'a', null), row(1, 'a', 'v')],
      existing: [lead('A', 'a', null), lead('B', null, 'v')],
      groups: [[[0], 'A']],
      failed: [1],
    },
    {
      name: 'a row whose group already reached another existing lead fails (applied one by one)',
      rows: [row(0, 'a', 'new'), row(1, 'b', 'new')],
      existing: [lead('A', 'a', null), lead('B', 'b', null)],
      groups: [[[0], 'A']],
      failed: [1],
    },
    {
      name: 'two keys of one existing lead in separate rows land in one group',
      rows: [row(0, 'a', null), row(1, null, 'v')],
      existing: [lead('A', 'a', 'v')],
      groups: [[[0, 1], 'A']],
      failed: [],
    },
    {
      name: 'a group without a lead picks one up from a later row',
      rows: [row(0, null, 'u'), row(1, 'a', 'u')],
      existing: [lead('A', 'a', null)],
      groups: [[[0, 1], 'A']],
      failed: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(summary(c.rows, c.existing)).toEqual({ groups: c.groups, failed: c.failed });
    });
  }

  it('later rows win field by field', () => {
    const plan = planBatch(
      [row(0, 'a', null, { first: 'Ann', title: 'CTO' }), row(1, 'a', null, { title: 'CEO' })],
      [],
      combine,
    );
    expect(plan.groups[0]?.value).toEqual({ first: 'Ann', title: 'CEO' });
  });
});
