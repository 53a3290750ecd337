import type { FastifyRequest } from 'fastify';

/** A UTF-16 code unit with no partner: valid in JSON (`"\ud800"`), but not text Postgres can store. */
const loneSurrogate = /\p{Surrogate}/gu;
/** The same, for testing without the global flag's `lastIndex` state. */
const hasLoneSurrogate = /\p{Surrogate}/u;

/**
 * JSON.parse takes any depth (a 1 MiB body nests 500,000 levels) and these walks recurse; deeper
 * parts are left alone, for the schemas (which bound depth where they take free-form JSON) to refuse.
 */
const MAX_DEPTH = 200;

/**
 * The value with every lone surrogate (in strings and keys) replaced by U+FFFD, as any UTF-8
 * encoder does. Postgres text columns get that from the driver anyway; jsonb refuses the escape,
 * which failed whole requests (a bulk batch included) far from the field that carried it.
 */
export function wellFormed(value: unknown): unknown {
  // Nearly every body is clean: checking it allocates nothing, where rebuilding it copied every
  // object and string of a 10,000-lead import (about 30 ms, and the garbage after).
  return isWellFormed(value, 0) ? value : replaced(value, 0);
}

function isWellFormed(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return !hasLoneSurrogate.test(value);
  if (depth > MAX_DEPTH) return true;
  if (Array.isArray(value)) return value.every((v) => isWellFormed(v, depth + 1));
  if (!isPlainObject(value)) return true;
  // Own keys only, as the copy below reads them.
  return Object.keys(value).every(
    (key) => !hasLoneSurrogate.test(key) && isWellFormed(value[key], depth + 1),
  );
}

function replaced(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(loneSurrogate, '\uFFFD');
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => replaced(v, depth + 1));
  // Parsed JSON only: a stream or a Buffer body (CSV, raw MIME, webhooks) is left as it is.
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(loneSurrogate, '\uFFFD'), replaced(v, depth + 1)]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The path (`body.steps.0.note`) of the first string or key holding a NUL, which Postgres refuses. */
export function nulPath(request: FastifyRequest): string | null {
  const parts: [string, unknown][] = [
    ['body', request.body],
    ['querystring', request.query],
    ['params', request.params],
  ];
  for (const [name, value] of parts) {
    const found = findNul(value, [name]);
    if (found) return found.join('.');
  }
  return null;
}

function findNul(value: unknown, path: string[]): string[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if ((!Array.isArray(value) && !isPlainObject(value)) || path.length > MAX_DEPTH) return null;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path;
    const found = findNul(item, [...path, key]);
    if (found) return found;
  }
  return null;
}
