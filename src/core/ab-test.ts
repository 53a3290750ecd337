/**
 * A/B winner selection for one step (issue 17): pure arithmetic over sends and human replies.
 *
 * - Per variant, a Wilson score interval at the configured confidence.
 * - Per step, the variant with the best observed reply rate is compared with every other one by a
 *   two-sided two-proportion z-test with a pooled standard error. With k variants that is k − 1
 *   comparisons, so each p-value is multiplied by k − 1 (Bonferroni); the best variant wins only
 *   when its largest adjusted p-value is below 1 − confidence, i.e. it beats every other variant.
 */

export type VariantTally = { variant: number; sent: number; replies: number };
export type Interval = { low: number; high: number };
export type AbOptions = { confidence: number; minSample: number };

export type AbDecision =
  /** Some variant has fewer than `minSample` sends: no test is run yet. */
  | { status: 'collecting' }
  /** Tested: the best variant does not beat every other one at the confidence (yet). */
  | { status: 'no_difference_yet'; pValue: number; best: number }
  | { status: 'winner'; pValue: number; winner: number };

/**
 * Standard normal CDF, Φ(x), through erfc (Numerical Recipes' Chebyshev fit, fractional error
 * below 1.2e-7 everywhere): enough for p-values read to four significant digits.
 */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Φ⁻¹(p) for p in (0, 1), by Acklam's rational approximation (relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const tail = (q: number) =>
    (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  const low = 0.02425;
  if (p < low) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/** The two-sided critical value for a confidence level: 1.959964 for 0.95. */
export const criticalZ = (confidence: number) => normalQuantile(1 - (1 - confidence) / 2);

/** Wilson score interval of `replies / sent` at `confidence`; [0, 1] before any send. */
export function wilsonInterval(replies: number, sent: number, confidence: number): Interval {
  if (sent <= 0) return { low: 0, high: 1 };
  const z = criticalZ(confidence);
  const p = replies / sent;
  const z2n = (z * z) / sent;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / sent + z2n / (4 * sent));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Two-sided p-value of the pooled two-proportion z-test of x1/n1 against x2/n2. Equal rates with
 * no spread at all (both 0 % or both 100 %) are no evidence of a difference: 1.
 */
export function twoProportionPValue(x1: number, n1: number, x2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 1;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return 1;
  const z = (x1 / n1 - x2 / n2) / se;
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
}

const rateOf = (t: VariantTally) => (t.sent > 0 ? t.replies / t.sent : 0);

/**
 * The decision for one step's variants. Ties on the best rate go to the earlier variant, and then
 * the comparison between them has p = 1, so a tie never wins.
 */
export function decideWinner(tallies: readonly VariantTally[], options: AbOptions): AbDecision {
  if (tallies.length < 2 || tallies.some((t) => t.sent < options.minSample)) return { status: 'collecting' };
  const ranked = [...tallies].sort((x, y) => rateOf(y) - rateOf(x) || x.variant - y.variant);
  const [best, ...others] = ranked as [VariantTally, ...VariantTally[]];
  const comparisons = others.length;
  const pValue = Math.max(
    ...others.map((o) =>
      Math.min(1, comparisons * twoProportionPValue(best.replies, best.sent, o.replies, o.sent)),
    ),
  );
  if (pValue < 1 - options.confidence) return { status: 'winner', pValue, winner: best.variant };
  return { status: 'no_difference_yet', pValue, best: best.variant };
}
