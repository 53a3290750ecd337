import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { type ApiRoute, fillPath, type Parameter } from './api-routes';
import { resourceOf, type Tenant } from './fixtures';
import { mutated } from './mutate';
import { brokenJsonText, nastyString, nastyValue, toJsonText } from './nasty';
import { type Hints, schemaArbitrary } from './schema-arbitrary';

export type FuzzRequest = {
  method: ApiRoute['method'];
  url: string;
  headers: Record<string, string>;
  payload?: string;
};

/** Percent-encodes as UTF-8; a lone surrogate becomes U+FFFD first, as a browser would send it. */
const encodeBytes = (value: string) =>
  encodeURIComponent(Buffer.from(value.slice(0, 10_000), 'utf8').toString('utf8'));

/** Already-encoded URL parts that are malformed on purpose: bad escapes, invalid UTF-8, traversal. */
const malformedUrlPart = fc.constantFrom(
  '%',
  '%zz',
  '%ED%A0%80',
  '%C0%AF',
  '%00',
  '..',
  '%2E%2E%2F',
  '%0D%0A',
);

const urlPart = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 5, arbitrary: valid.map(encodeBytes) },
    { weight: 2, arbitrary: nastyString.map(encodeBytes) },
    { weight: 1, arbitrary: malformedUrlPart },
  );

function pathParamArbitrary(route: ApiRoute, param: Parameter, tenant: Tenant): fc.Arbitrary<string> {
  const kind = resourceOf(route.path, param.name);
  const own = kind === 'workspace' ? tenant.id : kind ? tenant.ids[kind] : null;
  const valid = own ? fc.oneof({ weight: 3, arbitrary: fc.constant(own) }, fc.uuid()) : fc.uuid();
  return urlPart(valid);
}

const asText = (v: unknown) => (typeof v === 'string' ? v : toJsonText(v));

function queryArbitrary(route: ApiRoute): fc.Arbitrary<string> {
  const declared = route.queryParams.map((p) =>
    fc.option(
      fc
        .tuple(fc.constant(p.name), urlPart(schemaArbitrary(p.schema).map(asText)))
        .map(([k, v]) => `${k}=${v}`),
      { freq: 2 },
    ),
  );
  const extra = fc.array(
    fc.tuple(urlPart(fc.constantFrom('limit', 'cursor', 'x', '__proto__', 'a[b]')), urlPart(nastyString)),
    { maxLength: 2 },
  );
  return fc
    .tuple(fc.tuple(...declared), extra)
    .map(([pairs, more]) =>
      [...pairs.filter((p): p is string => p !== null), ...more.map(([k, v]) => `${k}=${v}`)].join('&'),
    );
}

type Body = { contentType: string | null; text: string } | null;

const stages = ['lead', 'qualified', 'contacted', 'proposal', 'won', 'lost', 'retention'];

/** Realistic values by property name, with the tenant's own ids, so cases get past the lookups. */
function hintsFor(tenant: Tenant): Hints {
  const stage = fc.constantFrom(...stages);
  return {
    email: fc.oneof(fc.emailAddress(), fc.constant(tenant.leadEmail)),
    fromEmail: fc.emailAddress(),
    from: fc.constant(tenant.leadEmail),
    linkedinUrl: fc.stringMatching(/^[a-z0-9-]{3,20}$/).map((slug) => `https://www.linkedin.com/in/${slug}`),
    url: fc.webUrl(),
    timezone: fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kathmandu'),
    stage,
    toStage: stage,
    leadId: fc.constant(tenant.ids.leads),
    leadIds: fc.constant([tenant.ids.leads]),
    mailboxId: fc.constant(tenant.ids.mailboxes),
  };
}

function jsonBodyArbitrary(route: ApiRoute, tenant: Tenant): fc.Arbitrary<Body> {
  const schema = route.body?.schema;
  const valid = schema ? schemaArbitrary(schema, hintsFor(tenant)) : nastyValue;
  const text = fc.oneof(
    { weight: 2, arbitrary: valid.map(toJsonText) },
    { weight: 5, arbitrary: mutated(valid).map(toJsonText) },
    { weight: 2, arbitrary: nastyValue.map(toJsonText) },
    { weight: 1, arbitrary: brokenJsonText },
  );
  const contentType = fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    fc.constantFrom('application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded'),
    fc.constant(null),
  );
  return fc.record({ contentType, text });
}

const csvCell = fc.oneof(
  nastyString,
  fc.constantFrom('"', '"abc', 'a"b', '""', '"a,b"', '"x""y"', '\r', '\n', ',', 'lead@example.test', 'UTC'),
);
const csvHeader = fc.constantFrom(
  'email',
  'first_name',
  'First Name',
  'linkedinUrl',
  'timezone',
  'stage',
  '"email',
  '',
);
/** CSV with broken quoting, ragged rows, odd headers and hostile cells. */
const csvText = fc
  .tuple(
    fc.array(csvHeader, { minLength: 1, maxLength: 4 }),
    fc.array(fc.array(csvCell, { maxLength: 5 }), { maxLength: 4 }),
  )
  .map(([header, rows]) => [header.join(','), ...rows.map((r) => r.join(','))].join('\n'));

/** A MIME message with hostile headers and body, sometimes from the tenant's lead (so it matches). */
const mimeText = (tenant: Tenant) =>
  fc
    .tuple(fc.oneof(nastyString, fc.constant(tenant.leadEmail)), nastyString, nastyString)
    .map(
      ([from, subject, body]) => `From: ${from}\r\nTo: x@example.test\r\nSubject: ${subject}\r\n\r\n${body}`,
    );

function rawBodyArbitrary(route: ApiRoute, tenant: Tenant): fc.Arbitrary<Body> {
  const contentType = route.body?.contentType ?? 'text/plain';
  const text = fc.oneof(contentType === 'text/csv' ? csvText : mimeText(tenant), nastyString);
  return fc.record({ contentType: fc.constant(contentType), text });
}

function bodyArbitrary(route: ApiRoute, tenant: Tenant): fc.Arbitrary<Body> {
  if (route.body?.schema === null) return rawBodyArbitrary(route, tenant);
  if (route.body) return jsonBodyArbitrary(route, tenant);
  // Routes without a body still get one now and then: it must be ignored or refused, never crash.
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: jsonBodyArbitrary(route, tenant) },
  );
}

export type AuthMode = 'key' | 'admin' | 'signed';

export type CaseContext = { route: ApiRoute; tenant: Tenant; auth: AuthMode; adminToken: string };

/** A request to `route` with generated path parameters, query and body, authenticated as needed. */
export function fuzzRequestArbitrary(ctx: CaseContext): fc.Arbitrary<FuzzRequest> {
  const { route } = ctx;
  const params = fc.record(
    Object.fromEntries(route.pathParams.map((p) => [p.name, pathParamArbitrary(route, p, ctx.tenant)])),
  );
  const signature = fc.constantFrom('valid', 'valid', 'valid', 'valid', 'missing', 'bad');
  return fc
    .tuple(params, queryArbitrary(route), bodyArbitrary(route, ctx.tenant), signature)
    .map(([values, query, body, sig]) => {
      const url = `${fillPath(route.path, values)}${query ? `?${query}` : ''}`;
      const headers: Record<string, string> = { ...authHeaders(ctx, body?.text ?? '', sig) };
      if (body?.contentType) headers['content-type'] = body.contentType;
      return { method: route.method, url, headers, ...(body ? { payload: body.text } : {}) };
    });
}

function authHeaders(ctx: CaseContext, payload: string, signature: string): Record<string, string> {
  if (ctx.auth === 'key') return ctx.tenant.auth;
  if (ctx.auth === 'admin') return { authorization: `Bearer ${ctx.adminToken}` };
  if (signature === 'missing') return {};
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature':
      signature === 'valid' ? new Webhook(ctx.tenant.webhookSecret).sign(id, at, payload) : 'v1,AAAA',
  };
}
