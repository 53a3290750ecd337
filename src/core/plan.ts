import type { SequenceDefinition } from './sequences';
import { type ResolvedStep, waitSeconds } from './steps';
import type { Wait } from './schedule';

export type PlannedStep = { index: number; step: ResolvedStep; waits: Wait[] };

/**
 * The next step that does something, at or after `fromIndex`, with the waits that come before it.
 * Waits are not runs of their own: they only push the next run's time. Null when the sequence ends.
 */
export function nextActionStep(def: SequenceDefinition, fromIndex: number): PlannedStep | null {
  const waits: Wait[] = [];
  for (let index = fromIndex; index < def.steps.length; index++) {
    const step = def.steps[index];
    if (!step) break;
    if (step.type === 'wait') {
      waits.push({ seconds: waitSeconds(step), businessDays: step.businessDays, days: step.days ?? 0 });
      continue;
    }
    return { index, step, waits };
  }
  return null;
}

export function stepIndexById(def: SequenceDefinition, id: string): number {
  return def.steps.findIndex((s) => s.id === id);
}

/**
 * Steps a lead can reach. Branches on `hasEmail` / `hasLinkedin` are decided by the lead's data,
 * which enrollment already knows; other conditions depend on the future, so both sides count.
 * Enrollment checks requirements (an email, a LinkedIn URL, template variables) on these steps only.
 */
export function reachableSteps(
  def: SequenceDefinition,
  lead: { email: string | null; linkedinUrl: string | null },
) {
  const seen = new Set<number>();
  const queue = [0];
  while (queue.length > 0) {
    const index = queue.pop() ?? 0;
    const step = def.steps[index];
    if (!step || seen.has(index)) continue;
    seen.add(index);
    if (step.type === 'end') continue;
    if (step.type === 'goto') {
      queue.push(stepIndexById(def, step.to));
      continue;
    }
    if (step.type !== 'branch') {
      queue.push(index + 1);
      continue;
    }
    const known =
      'hasEmail' in step.if
        ? Boolean(lead.email)
        : 'hasLinkedin' in step.if
          ? Boolean(lead.linkedinUrl)
          : null;
    const thenIndex = stepIndexById(def, step.then);
    const elseIndex = step.else ? stepIndexById(def, step.else) : index + 1;
    if (known !== false) queue.push(thenIndex);
    if (known !== true) queue.push(elseIndex);
  }
  return def.steps.filter((_, i) => seen.has(i));
}
