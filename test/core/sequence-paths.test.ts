import { describe, expect, it } from 'vitest';
import { loadSequenceFile } from '../../src/api/sequences/apply';
import { chooseVariant } from '../../src/channels/email/compose';
import { pathIssues, resolveStepIds } from '../../src/core/sequence-paths';
import { EmailStep, Step } from '../../src/core/steps';
import { repoRoot } from '../platform/support';

const off = { trackOpens: false, trackClicks: false };
const parse = (steps: unknown[]) => steps.map((s) => Step.parse(s));
const mail = { type: 'email', subject: 'Hi', body: 'Hello' };

describe('resolveStepIds', () => {
  it.each([
    [
      [{}, {}, {}],
      ['s1', 's2', 's3'],
    ],
    [
      [{}, {}, { id: 's2' }],
      ['s1', 's2-2', 's2'],
    ],
    [
      [{ id: 's2' }, {}],
      ['s2', 's2-2'],
    ],
    [
      [{ id: 's2-2' }, {}, { id: 's2' }],
      ['s2-2', 's2-3', 's2'],
    ],
    [[], []],
  ])('%j → %j', (steps, ids) => {
    expect(resolveStepIds(steps)).toEqual(ids);
  });
});

describe('pathIssues', () => {
  const cases: [string, unknown[], (string | number)[][]][] = [
    ['a straight line', [mail, mail], []],
    ['a step after an end', [mail, { type: 'end' }, mail], [['steps', 2]]],
    ['waits after an end', [mail, { type: 'end' }, { type: 'wait', days: 1 }], [['steps', 2]]],
    [
      'a then path ending in end',
      [
        { type: 'branch', if: { hasEmail: true }, then: 'a', else: 'b' },
        { id: 'a', ...mail },
        { type: 'end' },
        { id: 'b', ...mail },
      ],
      [],
    ],
    [
      'a then path running on into else',
      [
        { type: 'branch', if: { hasEmail: true }, then: 'a', else: 'b' },
        { id: 'a', ...mail },
        { id: 'b', ...mail },
      ],
      [['steps', 1]],
    ],
    [
      'a nested branch on the then path whose own else runs on into the outer else',
      [
        { type: 'branch', if: { hasEmail: true }, then: 'a', else: 'b' },
        { id: 'a', type: 'branch', if: { hasLinkedin: true }, then: 'c' },
        { type: 'end' },
        { id: 'c', type: 'linkedin_visit' },
        { id: 'b', ...mail },
      ],
      [['steps', 3]],
    ],
    [
      'a then path that comes after its else path (the else path may run on)',
      [
        { type: 'branch', if: { hasEmail: true }, then: 'b', else: 'a' },
        { id: 'a', ...mail },
        { id: 'b', ...mail },
      ],
      [],
    ],
    [
      'a reply first, without a subject',
      [{ type: 'email', thread: 'reply', body: 'x' }],
      [['steps', 0, 'subject']],
    ],
    ['a new email without a subject', [mail, { type: 'email', body: 'x' }], [['steps', 1, 'subject']]],
    ['a reply after an email, without a subject', [mail, { type: 'email', thread: 'reply', body: 'x' }], []],
    [
      'opened with tracking off',
      [mail, { type: 'branch', if: { opened: true }, then: 'x' }, { id: 'x', ...mail }],
      [['steps', 1, 'if']],
    ],
  ];
  it.each(cases)('%s', (_name, steps, paths) => {
    const parsed = parse(steps);
    expect(pathIssues(parsed, resolveStepIds(parsed), off).map((i) => i.path)).toEqual(paths);
  });
});

describe('variant A', () => {
  it("sends the step's own version as A, next to its variants, by weight", () => {
    const step = {
      ...EmailStep.parse({ type: 'email', subject: 'A', body: 'a', weight: 3, variants: [{ body: 'b' }] }),
      id: 's1',
    };
    const counts = [0, 0];
    for (let i = 0; i < 400; i++) {
      const chosen = chooseVariant(step, `run-${i}`);
      expect(chosen).toEqual(chooseVariant(step, `run-${i}`));
      expect(chosen.subjectSource).toBe('A');
      counts[chosen.variant ?? 0] = (counts[chosen.variant ?? 0] ?? 0) + 1;
    }
    // A weighs 3 against B's 1: about three quarters of the runs.
    expect(counts[0]).toBeGreaterThan(240);
    expect(counts[1]).toBeGreaterThan(60);
  });

  it('cold-email-3-step sends its "hiring SDRs" opener as version A', async () => {
    const loaded = await loadSequenceFile(`${repoRoot}/sequences/cold-email-3-step.yaml`);
    if (!('body' in loaded)) throw new Error(JSON.stringify(loaded.errors));
    const opener = loaded.body.steps[0];
    if (opener?.type !== 'email') throw new Error('the opener is an email');
    const bodies = new Set(
      Array.from({ length: 40 }, (_, i) => chooseVariant({ ...opener, id: 'opener' }, `r${i}`).bodySource),
    );
    expect([...bodies].some((b) => b.includes('hiring SDRs'))).toBe(true);
    expect(bodies.size).toBe(2);
  });
});
