import { looksLikeHtml } from './html-text';
import { emailVersions, type Step } from './steps';

/**
 * Step ids: the author's, else `s<index+1>`, else (when an author took that id for another step)
 * `s<index+1>-2`, `-3`…, so a generated id never collides with a chosen one.
 */
export function resolveStepIds(steps: readonly Pick<Step, 'id'>[]): string[] {
  const taken = new Set(steps.flatMap((s) => (s.id ? [s.id] : [])));
  return steps.map((s, i) => {
    if (s.id) return s.id;
    let id = `s${i + 1}`;
    for (let n = 2; taken.has(id); n++) id = `s${i + 1}-${n}`;
    taken.add(id);
    return id;
  });
}

export type PathIssue = { path: (string | number)[]; message: string };
type Settings = { trackOpens: boolean; trackClicks: boolean };

/**
 * Where each step can go next: `steps.length` (or beyond) means the enrollment completes. A plain
 * step runs on into the next one; `end` goes nowhere; `goto` and `branch` go to their targets.
 */
export function successors(steps: readonly Step[], ids: readonly string[], i: number): number[] {
  const step = steps[i];
  const at = (id: string) => ids.indexOf(id);
  if (!step || step.type === 'end') return [];
  if (step.type === 'goto') return [at(step.to)];
  if (step.type === 'branch') return [at(step.then), step.else ? at(step.else) : i + 1];
  return [i + 1];
}

/** Steps reachable from `from` following `successors`, optionally only below `limit`. */
function reach(steps: readonly Step[], ids: readonly string[], from: number, limit = steps.length) {
  const seen = new Set<number>();
  const queue = [from];
  while (queue.length > 0) {
    const i = queue.pop() ?? 0;
    if (i < 0 || i >= limit || seen.has(i)) continue;
    seen.add(i);
    queue.push(...successors(steps, ids, i));
  }
  return seen;
}

const hasHtml = (step: Step) =>
  step.type === 'email' && emailVersions(step).some((v) => looksLikeHtml(v.body));
const hasLink = (step: Step) =>
  step.type === 'email' &&
  emailVersions(step).some((v) => looksLikeHtml(v.body) && /<a\b[^>]*\bhref\s*=/i.test(v.body));

/**
 * Cross-step rules on a sequence whose targets exist and point forward (checked before):
 * - every step is reachable from the first;
 * - a branch's `then` path, when it comes before its `else` path, does not run on into the `else`
 *   path's first step: it ends (`end`), or jumps (`goto`, a branch) explicitly, even to that step;
 * - `opened` needs open tracking and an HTML email before the branch; `clicked` needs click
 *   tracking and an HTML email with a link before it (only HTML bodies carry a pixel or links);
 * - a `thread: "reply"` email without a subject comes after an email on every path to it.
 */
export function pathIssues(steps: readonly Step[], ids: readonly string[], settings: Settings): PathIssue[] {
  const issues: PathIssue[] = [];
  const reachable = reach(steps, ids, 0);
  steps.forEach((_, i) => {
    if (!reachable.has(i))
      issues.push({ path: ['steps', i], message: `step "${ids[i]}" is unreachable: no path leads to it` });
  });
  // Before: the steps on some path to i. Targets point forward, so index order is a topological order.
  const before = steps.map(() => new Set<number>());
  // afterEmail[i]: every path to i passes an email step.
  const afterEmail = steps.map((_, i) => i > 0);
  steps.forEach((step, i) => {
    for (const next of successors(steps, ids, i)) {
      const set = before[next];
      if (!set) continue;
      for (const j of before[i] ?? []) set.add(j);
      set.add(i);
      afterEmail[next] = Boolean(afterEmail[next]) && (step.type === 'email' || Boolean(afterEmail[i]));
    }
  });
  steps.forEach((step, i) => {
    if (!reachable.has(i)) return;
    if (step.type === 'email' && step.subject === undefined) {
      if (step.thread !== 'reply')
        issues.push({
          path: ['steps', i, 'subject'],
          message: 'a subject is required unless thread is "reply"',
        });
      else if (!afterEmail[i])
        issues.push({
          path: ['steps', i, 'subject'],
          message:
            'a reply without a subject needs an email before it on every path, to take its subject from',
        });
    }
    if (step.type !== 'branch') return;
    const earlier = [...(before[i] ?? [])].map((j) => steps[j]).filter((s): s is Step => s !== undefined);
    if ('opened' in step.if && !(settings.trackOpens && earlier.some(hasHtml)))
      issues.push({
        path: ['steps', i, 'if'],
        message: settings.trackOpens
          ? '"opened" can never be true: no HTML email before this branch (text emails carry no open pixel)'
          : '"opened" can never be true: settings.trackOpens is off',
      });
    if ('clicked' in step.if && !(settings.trackClicks && earlier.some(hasLink)))
      issues.push({
        path: ['steps', i, 'if'],
        message: settings.trackClicks
          ? '"clicked" can never be true: no HTML email with a link before this branch'
          : '"clicked" can never be true: settings.trackClicks is off',
      });
    const t = ids.indexOf(step.then);
    const e = step.else ? ids.indexOf(step.else) : -1;
    if (e <= t) return;
    const last = e - 1;
    const lastStep = steps[last];
    const runsOn = lastStep && successors(steps, ids, last).includes(e) && !explicitlyTo(lastStep, step.else);
    if (runsOn && reach(steps, ids, t, e).has(last))
      issues.push({
        path: ['steps', last],
        message: `the "then" path of branch "${ids[i]}" runs on into its "else" path ("${step.else}"); end it with {type: "end"} or rejoin with {type: "goto", to: "<step id>"}`,
      });
  });
  return issues;
}

/** A step that names its target: a goto, or a branch that points at it. */
function explicitlyTo(step: Step, target: string | undefined) {
  if (step.type === 'goto') return step.to === target;
  if (step.type === 'branch') return step.then === target || step.else === target;
  return false;
}
