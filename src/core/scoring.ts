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
};

export const emptyScoringRules = (): ScoringRules => ({ events: {}, attributes: [], qualifyThreshold: null });

/** The stage a lead must sit in, and the stage it is promoted to, when its score reaches the threshold. */
export const PROMOTE_FROM = 'lead';
export const PROMOTE_TO = 'qualified';

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

/** Whether a lead with this score, sitting in `stage`, should be promoted to `qualified`. */
export function shouldQualify(rules: ScoringRules, lead: { score: number; stage: string }): boolean {
  return (
    rules.qualifyThreshold !== null && lead.stage === PROMOTE_FROM && lead.score >= rules.qualifyThreshold
  );
}
