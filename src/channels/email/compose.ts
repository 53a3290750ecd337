import { leadVariables, type SenderVars, type TemplateVars } from '../../core/templates';
import { renderTemplates } from '../../engine/render/template-pool';
import type { LeadRow } from '../../engine/channel';
import { type EmailStep, emailVersions } from '../../core/steps';
import { hashFraction } from '../../core/deterministic';
import { escapeHtml, htmlToText, looksLikeHtml } from '../../core/html-text';

/**
 * One line, always: CR, LF and every other control character become a space, so a subject or a name
 * like `Hi\r\nBcc: x@evil.test` can never start a header of its own.
 */
export const headerSafe = (s: string) =>
  s
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();

/** Index chosen by weight for `u` in [0, 1). */
export function pickVariant(weights: number[], u: number): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let threshold = u * total;
  for (const [i, w] of weights.entries()) {
    if (threshold < w) return i;
    threshold -= w;
  }
  return weights.length - 1;
}

export const replySubject = (subject: string) => (/^re:/i.test(subject) ? subject : `Re: ${subject}`);

export type ComposedEmail = {
  subject: string;
  text: string;
  /** The HTML as rendered (before tracking), or null for a text-only body. */
  html: string | null;
  /** 0 for A (the step's own subject and body), 1 for B (`variants[0]`)…; null without variants. */
  variant: number | null;
};

/**
 * The version a run sends: A is the step's own subject and body, B… its `variants`, picked by
 * weight from `seed` (the run id), so a retried run sends the same one (docs/decisions.md, issue 17).
 * `winner` is the variant an A/B test promoted for this run (the caller decides whether the run is
 * new enough to take it), and replaces the pick.
 */
export function chooseVariant(step: EmailStep, seed: string, winner: number | null = null) {
  if (!step.variants?.length) return { variant: null, subjectSource: step.subject, bodySource: step.body };
  const versions = emailVersions(step);
  const promoted = winner !== null && versions[winner] ? winner : null;
  const variant =
    promoted ??
    pickVariant(
      versions.map((v) => v.weight),
      hashFraction(seed),
    );
  const chosen = versions[variant] ?? versions[0];
  return { variant, subjectSource: chosen?.subject, bodySource: chosen?.body ?? step.body };
}

/**
 * Renders one email for a lead. The variant is a function of `seed` (the run id), so a retried run
 * sends the same variant. HTML bodies get the lead's values HTML-escaped and a plain-text alternative.
 * A template that fails to render, or goes over a render limit, is `{ error }`.
 */
export async function composeEmail(input: {
  step: EmailStep;
  lead: LeadRow;
  seed: string;
  /** The variant an A/B test promoted for this run, if any (see `chooseVariant`). */
  winner?: number | null;
  threadSubject: string | null;
  /** `sender.*` and `unsubscribeUrl`: what the mailbox that sends and the lead's link fill in. */
  sendTime?: { sender: SenderVars | undefined; unsubscribeUrl: string };
}): Promise<ComposedEmail | { error: string }> {
  const { step, lead } = input;
  const { variant, subjectSource, bodySource } = chooseVariant(step, input.seed, input.winner ?? null);
  const vars = leadVariables(lead, input.sendTime);
  const html = looksLikeHtml(bodySource);
  const threaded = input.threadSubject !== null;
  // A reply step may have no subject of its own (validation puts an email before it on every path).
  if (!threaded && subjectSource === undefined) return { error: 'no_subject: no thread to reply to' };
  // One round trip to the template workers for both parts.
  const [body, subject] = await renderTemplates([
    { source: bodySource, vars: html ? escapeVars(vars) : vars },
    ...(threaded || subjectSource === undefined ? [] : [{ source: subjectSource, vars }]),
  ]);
  if (!body?.ok) return { error: body?.error ?? 'render failed' };
  if (subject && !subject.ok) return { error: subject.error };
  const subjectText = subject?.ok ? subject.text : replySubject(input.threadSubject ?? '');
  if (!html) return { subject: headerSafe(subjectText), text: body.text, html: null, variant };
  return { subject: headerSafe(subjectText), text: htmlToText(body.text), html: body.text, variant };
}

/** Lead values are data, not markup: `<b>` in a company name must print as text in an HTML body. */
function escapeVars(value: TemplateVars): TemplateVars {
  const escapeValue = (v: unknown): unknown => {
    if (typeof v === 'string') return escapeHtml(v);
    if (Array.isArray(v)) return v.map(escapeValue);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeValue(x)]));
    return v;
  };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeValue(v)]));
}
