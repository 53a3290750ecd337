import { analyzeSync, Liquid, Output, type Template } from 'liquidjs';

/** One shared engine: templates are plain Liquid over the lead's fields (no file system, no includes). */
export const liquid = new Liquid({ cache: 500, strictFilters: true, ownPropertyOnly: true });

export type TemplateVars = Record<string, unknown>;

/** Parses a template; throws liquidjs's error (with line and column) when it does not parse. */
export function parseTemplate(source: string): Template[] {
  return liquid.parse(source);
}

/** Returns the parse error message, or null when the template is valid Liquid. */
export function templateError(source: string): string | null {
  try {
    parseTemplate(source);
    return null;
  } catch (err) {
    return err instanceof Error ? (err.message.split('\n')[0] ?? 'invalid template') : 'invalid template';
  }
}

/**
 * Variables a template prints without a `default` filter, as dotted paths (`firstName`, `custom.industry`).
 * Variables used only inside tags (`if`, `for`) are optional by construction and not listed.
 */
export function requiredVariables(source: string): string[] {
  const required = new Set<string>();
  for (const node of parseTemplate(source)) {
    if (!(node instanceof Output)) continue;
    if (node.value.filters.some((f) => f.name === 'default')) continue;
    for (const variables of Object.values(analyzeSync([node]).globals)) {
      for (const variable of variables) {
        required.add(
          variable
            .toArray()
            .filter((s) => typeof s === 'string')
            .join('.'),
        );
      }
    }
  }
  return [...required];
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** The first required variable that `vars` lacks, or null. */
export function missingVariable(sources: string[], vars: TemplateVars): string | null {
  for (const source of sources) {
    for (const path of requiredVariables(source)) {
      let value: unknown = vars;
      for (const segment of path.split('.')) {
        value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
      }
      if (isBlank(value)) return path;
    }
  }
  return null;
}

export function renderTemplate(source: string, vars: TemplateVars): string {
  return liquid.renderSync(parseTemplate(source), vars) as string;
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
