import fc from 'fast-check';
import { nastyValue } from './nasty';

/** The subset of JSON Schema that the OpenAPI document (generated from our zod schemas) uses. */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
};

/**
 * Values for properties by name, for what the document cannot say: a LinkedIn URL is a string, an
 * email's stage must exist, a lead id should be one of the tenant's. Used alongside the schema's.
 */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/**
 * Values that mostly satisfy the schema, so requests get past the first checks and reach the
 * service; the fuzzer then corrupts one part of them. Lengths are capped to keep requests small.
 */
export function schemaArbitrary(schema: JsonSchema, hints: Hints = {}): fc.Arbitrary<unknown> {
  const base = baseArbitrary(schema, hints);
  return schema.nullable ? fc.oneof({ weight: 5, arbitrary: base }, fc.constant(null)) : base;
}

function baseArbitrary(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0)
    return fc.oneof(...alternatives.map((a) => schemaArbitrary(a, hints)));
  if (schema.allOf && schema.allOf.length > 0) return objectArbitrary(mergeAllOf(schema.allOf), hints);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return fc.integer({ min: bound(schema.minimum, -1e6), max: bound(schema.maximum, 1e6) });
    case 'number':
      return fc.double({
        min: bound(schema.minimum, -1e6),
        max: bound(schema.maximum, 1e6),
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? schemaArbitrary(schema.items, hints) : fc.jsonValue({ maxDepth: 2 }), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    case 'object':
      return objectArbitrary(schema, hints);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Keeps generated numbers inside the schema's range without drowning in 2^53-wide ranges. */
const bound = (value: number | undefined, fallback: number) =>
  value === undefined ? fallback : Math.max(-1e9, Math.min(1e9, value));

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress();
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'date':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case 'uri':
      return fc.webUrl();
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' });
  const minLength = schema.minLength ?? 0;
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 30, 30)) });
}

function objectArbitrary(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const property = (name: string, sub: JsonSchema) => {
    const hint = hints[name];
    const generic = schemaArbitrary(sub, hints);
    return hint ? fc.oneof({ weight: 3, arbitrary: hint }, generic) : generic;
  };
  const model = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, property(k, v)]));
  const known = fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
  const extra = schema.additionalProperties;
  if (extra === undefined || typeof extra === 'boolean') return known;
  // A record type (customFields, headers): its values come from the value schema.
  const valueArb = Object.keys(extra).length > 0 ? schemaArbitrary(extra, hints) : nastyValue;
  return fc
    .tuple(known, fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), valueArb, { maxKeys: 3 }))
    .map(([k, d]) => ({ ...d, ...(k as object) }));
}

/** `allOf` of objects (zod intersections) as one object schema. */
function mergeAllOf(parts: JsonSchema[]): JsonSchema {
  const merged: JsonSchema = { type: 'object', properties: {}, required: [] };
  for (const part of parts) {
    Object.assign(merged.properties ?? {}, part.properties);
    merged.required?.push(...(part.required ?? []));
  }
  return merged;
}
