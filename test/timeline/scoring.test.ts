import { describe, expect, it } from 'vitest';
import {
  attributePoints,
  eventPoints,
  type ScoredLead,
  type ScoringRules,
  promotionStages,
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
  qualifyFrom: null,
  qualifyTo: null,
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
    expect(shouldQualify(rules, subject, 'lead')).toBe(expected);
    expect(shouldQualify({ ...rules, qualifyThreshold: null }, subject, 'lead')).toBe(false);
  });

  const pipeline = (keys: [string, string][]) =>
    keys.map(([key, kind], position) => ({ key, kind, position }));
  it.each([
    [
      'the default pipeline',
      pipeline([
        ['lead', 'open'],
        ['qualified', 'open'],
        ['won', 'won'],
      ]),
      {},
      { from: 'lead', to: 'qualified' },
    ],
    [
      'renamed stages, by kind and order',
      pipeline([
        ['new', 'open'],
        ['sql', 'open'],
        ['closed', 'won'],
      ]),
      {},
      { from: 'new', to: 'sql' },
    ],
    [
      'one open stage: no promotion',
      pipeline([
        ['new', 'open'],
        ['won', 'won'],
        ['lost', 'lost'],
      ]),
      {},
      null,
    ],
    [
      'named stages win',
      pipeline([
        ['a', 'open'],
        ['b', 'open'],
        ['c', 'open'],
      ]),
      { qualifyFrom: 'b', qualifyTo: 'c' },
      { from: 'b', to: 'c' },
    ],
    [
      'a named stage that is gone: no promotion',
      pipeline([
        ['a', 'open'],
        ['b', 'open'],
      ]),
      { qualifyTo: 'zz' },
      null,
    ],
    [
      'from a closed stage: no promotion',
      pipeline([
        ['a', 'open'],
        ['w', 'won'],
      ]),
      { qualifyFrom: 'w', qualifyTo: 'a' },
      null,
    ],
  ])('promotion stages: %s', (_name, stages, named, expected) => {
    expect(promotionStages({ qualifyFrom: null, qualifyTo: null, ...named }, stages)).toEqual(expected);
  });
});
