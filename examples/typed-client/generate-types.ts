/**
 * Types for openapi-fetch from the engine's `/openapi.json`, in the shape openapi-typescript
 * emits (`paths`, `operations`, `components`). openapi-typescript itself needs TypeScript 5 and
 * this repository is on 7, so this covers what the document uses: OpenAPI 3.0 schemas with
 * type, properties, required, additionalProperties, items, enum, nullable, anyOf/oneOf/allOf and
 * local $refs. Anything else becomes `unknown` (never a wrong type).
 *
 *   npx tsx examples/typed-client/generate-types.ts http://127.0.0.1:3000/openapi.json > examples/typed-client/api.d.ts
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  const?: unknown;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
};
type Media = { schema?: Schema };
type Response = { $ref?: string; description?: string; content?: Record<string, Media> };
type Parameter = {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  required?: boolean;
  schema?: Schema;
};
type Operation = {
  operationId?: string;
  summary?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, Media> };
  responses: Record<string, Response>;
};
export type OpenApiDocument = {
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components?: { schemas?: Record<string, Schema>; responses?: Record<string, Response> };
};

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof methods)[number];

/** A property name as TypeScript writes it; statuses stay numbers, which openapi-fetch matches on. */
const key = (name: string) => (/^([A-Za-z_$][\w$]*|[1-9]\d*)$/.test(name) ? name : JSON.stringify(name));
const indent = (text: string) => text.replaceAll('\n', '\n  ');

/** `#/components/schemas/Error` → `components["schemas"]["Error"]`. */
function refType(ref: string): string {
  const parts = ref.replace(/^#\//, '').split('/');
  if (parts[0] !== 'components' || parts.length !== 3) return 'unknown';
  return `components[${JSON.stringify(parts[1])}][${JSON.stringify(parts[2])}]`;
}

/** The TypeScript type a schema's values have. */
export function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'unknown';
  const base = baseType(schema);
  return schema.nullable && base !== 'unknown' ? `${base} | null` : base;
}

function baseType(s: Schema): string {
  if (s.$ref) return refType(s.$ref);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ') || 'never';
  if (s.const !== undefined) return JSON.stringify(s.const);
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map((m) => `(${typeOf(m)})`).join(' | ');
  if (s.allOf) return s.allOf.map((m) => `(${typeOf(m)})`).join(' & ');
  switch (s.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `(${typeOf(s.items)})[]`;
    case 'object':
      return objectType(s);
    default:
      return s.properties ? objectType(s) : 'unknown';
  }
}

function objectType(s: Schema): string {
  const required = new Set(s.required ?? []);
  const lines = Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const doc = prop.description ? `/** ${prop.description.replaceAll('*/', '*\\/')} */\n` : '';
    return `${doc}${key(name)}${required.has(name) ? '' : '?'}: ${typeOf(prop)};`;
  });
  const extra = s.additionalProperties;
  if (extra === true || (extra === undefined && lines.length === 0)) lines.push('[key: string]: unknown;');
  else if (typeof extra === 'object') lines.push(`[key: string]: ${typeOf(extra)};`);
  return lines.length === 0 ? 'Record<string, never>' : `{\n  ${indent(lines.join('\n'))}\n}`;
}

function contentType(content: Record<string, Media> | undefined): string {
  if (!content || Object.keys(content).length === 0) return 'never';
  const lines = Object.entries(content).map(([media, m]) => `${JSON.stringify(media)}: ${typeOf(m.schema)};`);
  return `{\n  ${indent(lines.join('\n'))}\n}`;
}

function responseType(r: Response): string {
  if (r.$ref) return refType(r.$ref);
  return `{\n  headers: { [name: string]: unknown };\n  content: ${indent(contentType(r.content))};\n}`;
}

function parametersType(params: Parameter[]): string {
  const lines = (['query', 'header', 'path', 'cookie'] as const).map((where) => {
    const own = params.filter((p) => p.in === where);
    if (own.length === 0) return `${where}?: never;`;
    const fields = own.map((p) => `${key(p.name)}${p.required ? '' : '?'}: ${typeOf(p.schema)};`);
    const optional = own.every((p) => !p.required) ? '?' : '';
    return `${where}${optional}: {\n  ${indent(fields.join('\n'))}\n};`;
  });
  return `{\n  ${indent(lines.join('\n'))}\n}`;
}

function operationType(op: Operation): string {
  const body = op.requestBody
    ? `requestBody${op.requestBody.required ? '' : '?'}: {\n  content: ${indent(contentType(op.requestBody.content))};\n};`
    : 'requestBody?: never;';
  const responses = Object.entries(op.responses).map(([status, r]) => `${key(status)}: ${responseType(r)};`);
  const lines = [
    `parameters: ${parametersType(op.parameters ?? [])};`,
    body,
    `responses: {\n  ${indent(responses.join('\n'))}\n};`,
  ];
  return `{\n  ${indent(lines.join('\n'))}\n}`;
}

/** The declaration file: `paths`, `operations` and `components`, as openapi-fetch reads them. */
export function typesFromDocument(doc: OpenApiDocument): string {
  const paths: string[] = [];
  const operations: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const entries = methods.map((method) => {
      const op = item[method];
      if (!op?.operationId) return `${method}?: never;`;
      const summary = op.summary ? `/** ${op.summary.replaceAll('*/', '*\\/')} */\n` : '';
      operations.push(`${summary}${op.operationId}: ${operationType(op)};`);
      return `${summary}${method}: operations[${JSON.stringify(op.operationId)}];`;
    });
    paths.push(`${JSON.stringify(path)}: {\n  ${indent(entries.join('\n'))}\n};`);
  }
  const group = (items: Record<string, string>) =>
    Object.keys(items).length === 0
      ? 'never'
      : `{\n  ${indent(
          Object.entries(items)
            .map(([name, type]) => `${key(name)}: ${type};`)
            .join('\n'),
        )}\n}`;
  const schemas = Object.fromEntries(
    Object.entries(doc.components?.schemas ?? {}).map(([n, s]) => [n, typeOf(s)]),
  );
  const responses = Object.fromEntries(
    Object.entries(doc.components?.responses ?? {}).map(([n, r]) => [n, responseType(r)]),
  );
  return [
    '// Generated by examples/typed-client/generate-types.ts from GET /openapi.json. Do not edit.',
    '',
    `export interface paths {\n  ${indent(paths.join('\n'))}\n}`,
    `export interface operations {\n  ${indent(operations.join('\n'))}\n}`,
    `export interface components {\n  schemas: ${indent(group(schemas))};\n  responses: ${indent(group(responses))};\n  parameters: never;\n  requestBodies: never;\n  headers: never;\n  pathItems: never;\n}`,
    '',
  ].join('\n');
}

/** A URL (the running engine) or a file. */
async function readDocument(source: string): Promise<OpenApiDocument> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`);
    const doc: OpenApiDocument = await res.json();
    return doc;
  }
  const doc: OpenApiDocument = JSON.parse(readFileSync(source, 'utf8'));
  return doc;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const source = process.argv[2] ?? 'http://127.0.0.1:3000/openapi.json';
  process.stdout.write(typesFromDocument(await readDocument(source)));
}
