import { z } from 'zod';
import { outboundEventTypes } from './event-types';
import { CommonEventData, type EventSchemaEntry, outboundEventSchemas } from './event-schemas';

/** The markers around the generated part of docs/webhooks.md. */
export const DOCS_BEGIN = '<!-- BEGIN GENERATED: event payloads (src/timeline/outbox/event-schemas.ts) -->';
export const DOCS_END = '<!-- END GENERATED: event payloads -->';

type JsonSchema = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/** A field's type as a reader wants it: `uuid \| null`, `"email" \| "linkedin"`, `integer`. */
function typeOf(schema: JsonSchema): string {
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' \\| ');
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.format === 'uuid' || schema.format === 'date-time') return schema.format;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  return schema.type ?? 'any';
}

function fieldList(object: z.ZodObject): string[] {
  const json = z.toJSONSchema(object, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, field]) => {
    const optional = required.has(name) ? '' : ' (optional)';
    const note = field.description ? `: ${field.description}` : '';
    return `\`${name}\` (${typeOf(field)})${optional}${note}`;
  });
}

const fields = (object: z.ZodObject) => fieldList(object).join('<br>');

/** The payload section of docs/webhooks.md, rendered from the schemas the tests hold the code to. */
export function renderEventDocs(): string {
  const rows = outboundEventTypes.map((type) => {
    const entry: EventSchemaEntry | undefined = outboundEventSchemas[type];
    if (!entry) return `| \`${type}\` | (no schema yet) | |`;
    return `| \`${type}\` | ${entry.when} | ${fields(entry.data) || '—'} |`;
  });
  return [
    DOCS_BEGIN,
    '',
    'Every `data` has these fields:',
    '',
    ...fieldList(CommonEventData).map((field) => `- ${field.replaceAll('\\|', '|')}`),
    '',
    'Each type adds:',
    '',
    '| type | when | extra `data` fields |',
    '|---|---|---|',
    ...rows,
    '',
    DOCS_END,
  ].join('\n');
}

/** docs/webhooks.md with its generated block replaced by `renderEventDocs()`; null without markers. */
export function withRenderedEventDocs(markdown: string): string | null {
  const begin = markdown.indexOf(DOCS_BEGIN);
  const end = markdown.indexOf(DOCS_END);
  if (begin < 0 || end < begin) return null;
  return markdown.slice(0, begin) + renderEventDocs() + markdown.slice(end + DOCS_END.length);
}
