import { describe, expect, it } from 'vitest';
import {
  criticalZ,
  decideWinner,
  normalCdf,
  normalQuantile,
  twoProportionPValue,
  wilsonInterval,
} from '../../src/core/ab-test';
import { chooseVariant } from '../../src/channels/email/compose';
import { EmailStep } from '../../src/core/steps';

describe('normal distribution', () => {
  it.each([
    // Φ from any standard table.
    [0, 0.5],
    [1, 0.841345],
    [-1, 0.158655],
    [1.959964, 0.975],
    [2.575829, 0.995],
    [-3.090232, 0.001],
    [8, 1],
  ])('Φ(%s) = %s', (x, p) => {
    expect(normalCdf(x)).toBeCloseTo(p, 6);
  });

  it.each([
    [0.5, 0],
    [0.975, 1.959964],
    [0.995, 2.575829],
    [0.001, -3.090232],
    [0.9999, 3.719016],
  ])('Φ⁻¹(%s) = %s', (p, x) => {
    expect(normalQuantile(p)).toBeCloseTo(x, 5);
  });

  it.each([0, 1, -0.1, Number.NaN])('refuses the quantile of %s', (p) => {
    expect(() => normalQuantile(p)).toThrow(RangeError);
  });

  it('critical values: 1.96 at 95 %, 2.576 at 99 %', () => {
    expect(criticalZ(0.95)).toBeCloseTo(1.959964, 5);
    expect(criticalZ(0.99)).toBeCloseTo(2.575829, 5);
  });
});

describe('twoProportionPValue (pooled, two-sided)', () => {
  it.each([
    /*
     * By hand, case 1: B 20/100 against A 10/100. Pooled p = 30/200 = 0.15;
     * SE = √(0.15 × 0.85 × (1/100 + 1/100)) = √0.00255 = 0.050498; z = (0.20 − 0.10) / 0.050498
     * = 1.98030; p = 2 × (1 − Φ(1.98030)) = 2 × 0.023835 = 0.04767.
     */
    { name: '20/100 vs 10/100', x1: 20, n1: 100, x2: 10, n2: 100, p: 0.04767 },
    /*
     * By hand, case 2: 45/500 against 30/500. Pooled p = 75/1000 = 0.075;
     * SE = √(0.075 × 0.925 × (2/500)) = √0.0002775 = 0.016658; z = (0.09 − 0.06) / 0.016658
     * = 1.80090; p = 2 × (1 − Φ(1.80090)) = 2 × 0.035859 = 0.07172.
     */
    { name: '45/500 vs 30/500', x1: 45, n1: 500, x2: 30, n2: 500, p: 0.07172 },
    { name: 'the order does not matter', x1: 30, n1: 500, x2: 45, n2: 500, p: 0.07172 },
    { name: 'equal rates', x1: 12, n1: 120, x2: 10, n2: 100, p: 1 },
    { name: 'no reply anywhere (no spread)', x1: 0, n1: 100, x2: 0, n2: 100, p: 1 },
    { name: 'every send replied (no spread)', x1: 50, n1: 50, x2: 50, n2: 50, p: 1 },
    { name: 'an empty side', x1: 5, n1: 10, x2: 0, n2: 0, p: 1 },
  ])('$name: p = $p', ({ x1, n1, x2, n2, p }) => {
    expect(twoProportionPValue(x1, n1, x2, n2)).toBeCloseTo(p, 5);
  });

  it('all against nothing at 5 sends each is significant', () => {
    // Pooled 5/10: SE = √(0.25 × 0.4) = 0.31623, z = 3.1623, p = 0.001565.
    expect(twoProportionPValue(5, 5, 0, 5)).toBeCloseTo(0.001565, 5);
  });
});

describe('wilsonInterval', () => {
  it.each([
    // 0/10 at 95 %: the upper bound is z² / (n + z²) = 3.8415 / 13.8415.
    { replies: 0, sent: 10, confidence: 0.95, low: 0, high: 0.277533 },
    // 5/10 at 95 %: centre 0.5, half-width 1.96 / 1.38415 × √(0.025 + 0.0096037) = 0.263407.
    { replies: 5, sent: 10, confidence: 0.95, low: 0.236593, high: 0.763407 },
    { replies: 20, sent: 100, confidence: 0.95, low: 0.133367, high: 0.288829 },
    { replies: 20, sent: 100, confidence: 0.99, low: 0.117159, high: 0.320174 },
    { replies: 10, sent: 10, confidence: 0.95, low: 0.722467, high: 1 },
    { replies: 0, sent: 0, confidence: 0.95, low: 0, high: 1 },
  ])('$replies/$sent at $confidence: [$low, $high]', ({ replies, sent, confidence, low, high }) => {
    const interval = wilsonInterval(replies, sent, confidence);
    expect(interval.low).toBeCloseTo(low, 5);
    expect(interval.high).toBeCloseTo(high, 5);
  });
});

describe('decideWinner', () => {
  const at95 = { confidence: 0.95, minSample: 100 };
  const t = (variant: number, sent: number, replies: number) => ({ variant, sent, replies });

  it.each([
    {
      name: 'under the minimum sample',
      tallies: [t(0, 100, 10), t(1, 99, 40)],
      want: { status: 'collecting' },
    },
    { name: 'a single version', tallies: [t(0, 500, 10)], want: { status: 'collecting' } },
    { name: 'no versions', tallies: [], want: { status: 'collecting' } },
    {
      name: 'B 20/100 beats A 10/100 (p = 0.0477 < 0.05)',
      tallies: [t(0, 100, 10), t(1, 100, 20)],
      want: { status: 'winner', winner: 1, pValue: 0.04767 },
    },
    {
      name: 'the same at 99 % is no difference yet',
      tallies: [t(0, 100, 10), t(1, 100, 20)],
      options: { confidence: 0.99, minSample: 100 },
      want: { status: 'no_difference_yet', best: 1, pValue: 0.04767 },
    },
    {
      // Bonferroni: two comparisons (B–A, B–C), each p doubled; B–A 0.0477 → 0.0953.
      name: 'a third version C 10/100: B must beat both, p = 2 × 0.0477',
      tallies: [t(0, 100, 10), t(1, 100, 20), t(2, 100, 10)],
      want: { status: 'no_difference_yet', best: 1, pValue: 0.09534 },
    },
    {
      // B 30/200 vs A 18/200: p 0.06484 → 0.1297; vs C 20/200: p 0.13057 → 0.2611 (the largest).
      name: 'three versions: the weakest comparison decides',
      tallies: [t(0, 200, 18), t(1, 200, 30), t(2, 200, 20)],
      want: { status: 'no_difference_yet', best: 1, pValue: 0.26114 },
    },
    {
      name: 'A can win too',
      tallies: [t(0, 300, 60), t(1, 300, 20), t(2, 300, 25)],
      want: { status: 'winner', winner: 0 },
    },
    {
      name: 'a tie goes to no one',
      tallies: [t(0, 100, 10), t(1, 100, 10)],
      want: { status: 'no_difference_yet', best: 0, pValue: 1 },
    },
    {
      name: 'minimum sample 5: B 5/5 against A 0/5',
      tallies: [t(0, 5, 0), t(1, 5, 5)],
      options: { confidence: 0.95, minSample: 5 },
      want: { status: 'winner', winner: 1, pValue: 0.001565 },
    },
  ])('$name', ({ tallies, options, want }) => {
    const decision = decideWinner(tallies, options ?? at95);
    const { pValue, ...rest } = want as typeof want & { pValue?: number };
    expect(decision).toMatchObject(rest);
    if (pValue !== undefined && 'pValue' in decision) expect(decision.pValue).toBeCloseTo(pValue, 5);
    if (pValue !== undefined) expect('pValue' in decision).toBe(true);
  });
});

describe('chooseVariant with a promoted winner', () => {
  const step = EmailStep.parse({
    type: 'email',
    subject: 'A subject',
    body: 'A body',
    variants: [{ subject: 'B subject', body: 'B body' }],
  });

  it('sends the winner whatever the run id', () => {
    const picks = Array.from({ length: 40 }, (_, i) => chooseVariant(step, `run-${i}`, 1));
    expect(new Set(picks.map((p) => p.variant))).toEqual(new Set([1]));
    expect(picks[0]).toMatchObject({ subjectSource: 'B subject', bodySource: 'B body' });
  });

  it('without a winner, or with one the step does not have, picks by weight from the run id', () => {
    const plain = Array.from({ length: 40 }, (_, i) => chooseVariant(step, `run-${i}`).variant);
    expect(new Set(plain)).toEqual(new Set([0, 1]));
    for (const [i, v] of plain.entries()) expect(chooseVariant(step, `run-${i}`, 7).variant).toBe(v);
  });
});
