import { analyzeSync, Output, type Template } from 'liquidjs';
import { createLiquid, staticLimitError } from './liquid';

/** The variables a template renders over: the lead's fields (see `leadVariables`). */
export type TemplateVars = Record<string, unknown>;

/** The fields of `sender`: the mailbox that sends the email (see `senderVariables`). */
export const senderFields = ['firstName', 'lastName', 'name', 'email', 'signature'] as const;
export type SenderVars = Record<(typeof senderFields)[number], string>;

/**
 * Variables the email channel fills in when it sends, from the mailbox that sends and the lead's
 * unsubscribe link. No lead lacks them, so enrollment never asks a lead for them.
 */
const sendTimeRoots: ReadonlySet<string> = new Set(['sender', 'unsubscribeUrl']);
const isSendTime = (path: string) => sendTimeRoots.has(path.split('.')[0] ?? '');

/**
 * Parsing and static checks, pure and bounded by the template's length; rendering happens on the
 * engine's template workers (src/engine/render/), through `renderSync`.
 */
const liquid = createLiquid();

/**
 * Sequences hold a handful of templates that thousands of leads render or check: each is parsed
 * once per process. Parsed templates are read-only data (rendering keeps no state in them), and
 * the maps start over past a bound so a workspace editing templates all day cannot grow them.
 */
const MAX_CACHED = 1000;
const parsed = new Map<string, Template[]>();
const required = new Map<string, readonly string[]>();

function remember<T>(cache: Map<string, T>, source: string, value: T): T {
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(source, value);
  return value;
}

/** Parses a template; throws liquidjs's error (with line and column) when it does not parse. */
export function parseTemplate(source: string): Template[] {
  return parsed.get(source) ?? remember(parsed, source, liquid.parse(source));
}

/**
 * Renders a template (parsed once, as above) under the limits of `createLiquid`. Synchronous and
 * as slow as the template makes it: only the engine's template workers call it, never code on the
 * event loop that serves the API and runs steps.
 */
export function renderSync(source: string, vars: TemplateVars): string {
  return liquid.renderSync(parseTemplate(source), vars) as string;
}

/**
 * Why a template cannot be saved: it does not parse, uses a tag that loads files, or asks for
 * more than the render limits allow where that shows without rendering. Null when it is fine.
 */
export function templateError(source: string): string | null {
  try {
    parseTemplate(source);
  } catch (err) {
    return err instanceof Error ? (err.message.split('\n')[0] ?? 'invalid template') : 'invalid template';
  }
  return staticLimitError(source) ?? unknownSenderField(source);
}

const knownSenderFields: ReadonlySet<string> = new Set(senderFields);
const senderUse = new Map<string, boolean>();

/** Whether a template reads `sender`: what it renders to then depends on the mailbox that sends. */
export function usesSender(source: string): boolean {
  const known = senderUse.get(source);
  if (known !== undefined) return known;
  let uses = false;
  try {
    uses = (analyzeSync(parseTemplate(source)).globals.sender ?? []).length > 0;
  } catch {
    uses = source.includes('sender');
  }
  return remember(senderUse, source, uses);
}

/**
 * `sender` is ours, not a lead field: `{{ sender.fristName }}` would print nothing on every email,
 * so a field it does not have is refused when the template is saved.
 */
function unknownSenderField(source: string): string | null {
  let uses: readonly { toArray(): unknown[] }[];
  try {
    uses = analyzeSync(parseTemplate(source)).globals.sender ?? [];
  } catch {
    return null; // the analysis is a courtesy; the template parsed, so it renders
  }
  for (const variable of uses) {
    const field = variable.toArray()[1];
    if (typeof field !== 'string' || !knownSenderFields.has(field)) {
      const name = typeof field === 'string' ? `sender.${field}` : 'sender';
      return `unknown variable ${name}: sender has ${senderFields.join(', ')}`;
    }
  }
  return null;
}

/**
 * Variables a template prints without a `default` filter, as dotted paths (`firstName`, `custom.industry`).
 * Variables used only inside tags (`if`, `for`) are optional by construction and not listed.
 */
export function requiredVariables(source: string): readonly string[] {
  return (
    required.get(source) ??
    remember(required, source, Object.freeze(findRequired(source).filter((path) => !isSendTime(path))))
  );
}

function findRequired(source: string): string[] {
  const found = new Set<string>();
  for (const node of parseTemplate(source)) {
    if (!(node instanceof Output)) continue;
    if (node.value.filters.some((f) => f.name === 'default')) continue;
    for (const variables of Object.values(analyzeSync([node]).globals)) {
      for (const variable of variables) {
        found.add(
          variable
            .toArray()
            .filter((s) => typeof s === 'string')
            .join('.'),
        );
      }
    }
  }
  return [...found];
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** The first required variable that `vars` lacks, or null. */
export function missingVariable(sources: string[], vars: TemplateVars): string | null {
  return firstMissing(
    sources.flatMap((source) => requiredVariables(source)),
    vars,
  );
}

/** The first of these dotted paths (from `requiredVariables`) that `vars` lacks or has blank, or null. */
export function firstMissing(paths: readonly string[], vars: TemplateVars): string | null {
  for (const path of paths) {
    let value: unknown = vars;
    for (const segment of path.split('.')) {
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
    }
    if (isBlank(value)) return path;
  }
  return null;
}

type LeadLike = {
  email: string | null;
  linkedinUrl: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  title: string | null;
  customFields: Record<string, unknown>;
};

/** Template variables for a lead: its fields, its custom fields at top level and under `custom`. */
export function leadVariables(lead: LeadLike, extra: TemplateVars = {}): TemplateVars {
  return {
    ...lead.customFields,
    custom: lead.customFields,
    email: lead.email,
    linkedinUrl: lead.linkedinUrl,
    firstName: lead.firstName,
    lastName: lead.lastName,
    company: lead.company,
    title: lead.title,
    ...extra,
  };
}

type MailboxLike = { fromEmail: string; fromName: string | null; signature: string | null };

/**
 * `sender.*` for a mailbox: its display name split at the first space (`Ada King Lovelace` is first
 * name `Ada`, last name `King Lovelace`), its address and its signature; missing values are empty.
 */
export function senderVariables(mailbox: MailboxLike): SenderVars {
  const name = (mailbox.fromName ?? '').trim().replace(/\s+/g, ' ');
  const cut = name.indexOf(' ');
  return {
    firstName: cut < 0 ? name : name.slice(0, cut),
    lastName: cut < 0 ? '' : name.slice(cut + 1),
    name,
    email: mailbox.fromEmail,
    signature: mailbox.signature ?? '',
  };
}
