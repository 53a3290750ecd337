import { describe, expect, it } from 'vitest';
import {
  attributePoints,
  eventPoints,
  type ScoredLead,
  type ScoringRules,
  shouldQualify,
} from '../../src/core/scoring';

const rules: ScoringRules = {
  events: { 'email.opened': 1, 'email.clicked': 3, 'lead.replied': 10, 'lead.stage_changed': 50 },
  attributes: [
    { field: 'title', contains: 'Head of', points: 5 },
    { field: 'company', contains: 'corp', points: 2 },
    { field: 'custom.industry', contains: 'saas', points: 4 },
    { field: 'custom.employees', contains: '500', points: 1 },
  ],
  qualifyThreshold: 10,
};
const lead = (over: Partial<ScoredLead> = {}): ScoredLead => ({
  title: null,
  company: null,
  email: null,
  firstName: null,
  lastName: null,
  timezone: null,
  customFields: {},
  ...over,
});

describe('scoring rules (pure)', () => {
  it.each([
    ['email.opened', 1],
    ['email.clicked', 3],
    ['lead.replied', 10],
    ['message.sent', 0],
    // Never scored, whatever the rules say: a promotion must not feed another one.
    ['lead.stage_changed', 0],
  ])('%s is worth %i', (type, points) => {
    expect(eventPoints(rules, type)).toBe(points);
  });

  it.each([
    ['no fields', lead(), 0],
    ['title, case-insensitive', lead({ title: 'head of growth' }), 5],
    ['title elsewhere in the text', lead({ title: 'VP, Head Of Sales' }), 5],
    ['no match', lead({ title: 'Engineer' }), 0],
    ['two rules', lead({ title: 'Head of Ops', company: 'MegaCorp' }), 7],
    ['custom string field', lead({ customFields: { industry: 'B2B SaaS' } }), 4],
    ['custom number field as text', lead({ customFields: { employees: 1500 } }), 1],
    ['custom null field', lead({ customFields: { industry: null } }), 0],
  ])('attribute points: %s', (_name, subject, points) => {
    expect(attributePoints(rules, subject)).toBe(points);
  });

  it.each([
    [{ score: 10, stage: 'lead' }, true],
    [{ score: 9, stage: 'lead' }, false],
    [{ score: 50, stage: 'contacted' }, false],
    [{ score: 50, stage: 'qualified' }, false],
  ])('qualifies %j: %s', (subject, expected) => {
    expect(shouldQualify(rules, subject)).toBe(expected);
    expect(shouldQualify({ ...rules, qualifyThreshold: null }, subject)).toBe(false);
  });
});
