/**
 * Lead scoring as pure functions. A lead's score always equals
 *   Σ points of its scorable events + points of the attribute rules its fields match,
 * under the workspace's current rules. Writes keep that invariant incrementally (an event adds its
 * points, an edit adds the attribute difference) and a rule change recomputes it from scratch.
 */

export type AttributeRule = { field: string; contains: string; points: number };

export type ScoringRules = {
  events: Record<string, number>;
  attributes: AttributeRule[];
  qualifyThreshold: number | null;
  /**
   * The stage a lead must sit in to be promoted, and the stage it is promoted to, when its score
   * reaches the threshold. Null: by the pipeline's order, the first open stage and the open stage
   * after it (`lead` → `qualified` in the default pipeline, whatever they are renamed to).
   */
  qualifyFrom: string | null;
  qualifyTo: string | null;
};

export const emptyScoringRules = (): ScoringRules => ({
  events: {},
  attributes: [],
  qualifyThreshold: null,
  qualifyFrom: null,
  qualifyTo: null,
});

type StageRef = { key: string; kind: string; position: number };

/**
 * The promotion's two stages for a pipeline: the explicit ones when the rules name them (both must
 * exist and the first be open), else the first two open stages in pipeline order. Null: no promotion.
 */
export function promotionStages(
  rules: Pick<ScoringRules, 'qualifyFrom' | 'qualifyTo'>,
  pipeline: StageRef[],
): { from: string; to: string } | null {
  const open = [...pipeline].filter((s) => s.kind === 'open').sort((a, b) => a.position - b.position);
  const from = rules.qualifyFrom ?? open[0]?.key;
  const to =
    rules.qualifyTo ??
    open.find((s) => s.key !== from && s.position > (pipelineAt(pipeline, from) ?? -1))?.key;
  if (!from || !to || from === to) return null;
  if (!open.some((s) => s.key === from) || !pipeline.some((s) => s.key === to)) return null;
  return { from, to };
}

const pipelineAt = (pipeline: StageRef[], key: string | undefined) =>
  pipeline.find((s) => s.key === key)?.position;

/**
 * Stage changes are never scored: a promotion records `lead.stage_changed`, and scoring that event
 * could promote again. Excluding it breaks the loop by construction.
 */
export const unscoredEventTypes: ReadonlySet<string> = new Set(['lead.stage_changed']);

/** Lead fields an attribute rule may test; `custom.<key>` tests a custom field. */
export const attributeFields = ['title', 'company', 'email', 'firstName', 'lastName', 'timezone'] as const;
export type AttributeField = (typeof attributeFields)[number];

export type ScoredLead = {
  title: string | null;
  company: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  timezone: string | null;
  customFields: Record<string, unknown>;
};

export function eventPoints(rules: ScoringRules, type: string): number {
  if (unscoredEventTypes.has(type)) return 0;
  return rules.events[type] ?? 0;
}

/** The text an attribute rule looks at, or null when the lead has no such value. */
export function attributeValue(lead: ScoredLead, field: string): string | null {
  if (field.startsWith('custom.')) {
    const value = lead.customFields[field.slice('custom.'.length)];
    if (value === null || value === undefined) return null;
    return typeof value === 'string' ? value : JSON.stringify(value);
  }
  switch (field) {
    case 'title':
    case 'company':
    case 'email':
    case 'firstName':
    case 'lastName':
    case 'timezone':
      return lead[field];
    default:
      return null;
  }
}

/** Sum of the points of every attribute rule whose field contains its text (case-insensitive). */
export function attributePoints(rules: ScoringRules, lead: ScoredLead): number {
  let total = 0;
  for (const rule of rules.attributes) {
    const value = attributeValue(lead, rule.field);
    if (value?.toLowerCase().includes(rule.contains.toLowerCase())) total += rule.points;
  }
  return total;
}

/** Whether a lead with this score, sitting in `stage`, should be promoted (`from` is the promotion's first stage). */
export function shouldQualify(
  rules: ScoringRules,
  lead: { score: number; stage: string },
  from: string,
): boolean {
  return rules.qualifyThreshold !== null && lead.stage === from && lead.score >= rules.qualifyThreshold;
}
