import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../src/db/schema/index';
import { firstMissing, missingVariable, requiredVariables } from '../../src/core/templates';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createSequence, enrollLeads } from '../helpers/sequences';

describe('template variables a lead must have (pure)', () => {
  it.each([
    ['Hi {{ firstName }}', ['firstName']],
    ['Hi {{ firstName | default: "there" }}', []],
    ['{{ custom.industry }} at {{ company }}, {{ custom.industry }}', ['custom.industry', 'company']],
    ['{% if title %}{{ title }}{% endif %}', []],
    ['{% if title %}yes{% endif %}', []],
    ['no variables', []],
    ['', []],
  ])('%j requires %j, the same on every call', (source, expected) => {
    expect(requiredVariables(source)).toEqual(expected);
    expect(requiredVariables(source)).toEqual(expected);
  });

  it.each([
    [['firstName', 'company'], { firstName: 'Ann', company: 'Acme' }, null],
    [['firstName', 'company'], { firstName: '  ', company: 'Acme' }, 'firstName'],
    [['firstName', 'company'], { firstName: 'Ann', company: null }, 'company'],
    [['custom.industry'], { custom: { industry: 'fintech' } }, null],
    [['custom.industry'], { custom: {} }, 'custom.industry'],
    [['custom.industry'], { custom: 'not an object' }, 'custom.industry'],
    [[], {}, null],
  ])('first missing of %j in %j: %s', (paths, vars, expected) => {
    expect(firstMissing(paths, vars)).toBe(expected);
  });

  it('takes templates in order: the first template’s variables are named first', () => {
    const sources = ['{{ company }}', '{{ firstName }} {{ company }}'];
    expect(missingVariable(sources, {})).toBe('company');
    expect(missingVariable(sources, { company: 'Acme' })).toBe('firstName');
  });
});

describe('bulk enrollment', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  it('checks each lead of one batch against the steps its own data lets it reach', async () => {
    const sequenceId = await createSequence(engine.app, ws, {
      steps: [
        { type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'mail', type: 'email', subject: 'Hi {{ firstName }}', body: 'Hello' },
        { type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'done' },
        { id: 'li', type: 'linkedin_message', body: 'About {{ custom.topic }}' },
        { type: 'goto', to: 'done' },
        { id: 'done', type: 'task', title: 'Wrap up' },
      ],
    });
    const url = (i: number) => `https://www.linkedin.com/in/enroll-${i}`;
    const kinds = [
      { linkedinUrl: url(0), customFields: { topic: 'growth' } },
      { linkedinUrl: url(1), customFields: {} },
      { linkedinUrl: null },
      { linkedinUrl: null, firstName: null },
      { linkedinUrl: url(4), firstName: null, customFields: { topic: 'sales' } },
    ];
    const leads = await insertLeads(engine.deps.db, ws.id, kinds.length, (i) => kinds[i] ?? {});
    const ids = leads.map((l) => l.id);
    const result = await enrollLeads(engine.app, ws, sequenceId, ids);
    expect(result.enrolled.map((e) => e.leadId)).toEqual([ids[0], ids[2], ids[4]]);
    expect(result.skipped).toEqual([
      { leadId: ids[1], reason: 'missing_variable:custom.topic' },
      { leadId: ids[3], reason: 'missing_variable:firstName' },
    ]);
    // Each enrolled lead has its enrollment and exactly one first run, the branch, scheduled.
    for (const { leadId, enrollmentId } of result.enrolled) {
      const [enrollment] = await engine.deps.db
        .select()
        .from(enrollments)
        .where(eq(enrollments.id, enrollmentId));
      expect(enrollment).toMatchObject({ leadId, sequenceId, status: 'active', version: 1 });
      const runs = await engine.deps.db
        .select()
        .from(stepRuns)
        .where(eq(stepRuns.enrollmentId, enrollmentId));
      expect(runs.map((r) => [r.stepIndex, r.stepType, r.status])).toEqual([[0, 'branch', 'scheduled']]);
    }
  });
});
