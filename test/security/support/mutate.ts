import fc from 'fast-check';
import { nastyString, nastyValue, RawJson } from './nasty';

type Path = (string | number)[];
type Container = Record<string | number, unknown>;

const isContainer = (value: unknown): value is Container =>
  value !== null && typeof value === 'object' && !(value instanceof RawJson);

/** Every position in a JSON value (the root included) that a mutation can target. */
function paths(value: unknown, prefix: Path = []): Path[] {
  const here: Path[] = [prefix];
  if (!isContainer(value)) return here;
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  for (const [key, child] of entries) here.push(...paths(child, [...prefix, key]));
  return here;
}

function at(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) current = isContainer(current) ? current[key] : undefined;
  return current;
}

/** A deep copy that keeps `RawJson` leaves (structuredClone would turn them into plain objects). */
function copy(value: unknown): unknown {
  if (!isContainer(value)) return value;
  if (Array.isArray(value)) return value.map(copy);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
}

/** A copy of `value` whose container at `path` minus its last key went through `edit`. */
function editParent(value: unknown, path: Path, edit: (parent: Container, key: string | number) => void) {
  const result = copy(value);
  const key = path[path.length - 1];
  const parent = at(result, path.slice(0, -1));
  if (key !== undefined && isContainer(parent)) edit(parent, key);
  return result;
}

const setAt = (value: unknown, path: Path, replacement: unknown) =>
  path.length === 0
    ? replacement
    : editParent(value, path, (parent, key) => {
        parent[key] = replacement;
      });

const deleteAt = (value: unknown, path: Path) =>
  editParent(value, path, (parent, key) => {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete parent[key];
  });

const pick = <T>(items: T[], n: number): T | undefined => items[n % Math.max(items.length, 1)];

type Mutation = 'text' | 'replace' | 'delete' | 'extra';

/**
 * Corrupts a near-valid value in one place: appends hostile text to a string, replaces a part with
 * a wrong-typed or hostile value, deletes a key, or adds an unexpected one.
 */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const kinds = fc.constantFrom<Mutation>('text', 'text', 'replace', 'delete', 'extra');
  return fc.tuple(valid, fc.nat(), kinds, nastyValue, nastyString).map(([value, n, kind, nasty, text]) => {
    const all = paths(value);
    if (kind === 'text') {
      // Hostile text where the schema wants text gets furthest: past the type checks, into the
      // templates, the database and the SMTP headers.
      const path = pick(
        all.filter((p) => typeof at(value, p) === 'string'),
        n,
      );
      return path ? setAt(value, path, `${String(at(value, path)).slice(0, 20)}${text}`) : value;
    }
    if (kind === 'replace') return setAt(value, pick(all, n) ?? [], nasty);
    if (kind === 'delete') {
      const path = pick(
        all.filter((p) => p.length > 0),
        n,
      );
      return path ? deleteAt(value, path) : value;
    }
    const target = pick(
      all.filter((p) => isContainer(at(value, p))),
      n,
    );
    if (!target) return value;
    const holder = at(value, target);
    const key = Array.isArray(holder) ? holder.length : text || 'extra';
    return setAt(value, [...target, key], nasty);
  });
}
