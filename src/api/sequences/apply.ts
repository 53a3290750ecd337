import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Deps } from '../../context';
import { CreateSequenceBody, resolveDefinition } from '../../core/sequences';
import { createSequence, findSequenceByName, getSequence, updateSequence } from './sequences.service';

export type SequenceFile = { file: string; body: ReturnType<typeof CreateSequenceBody.parse> };
export type FileProblem = { file: string; errors: { path: string; message: string }[] };

/** The YAML files at `path` (a file, or every .yaml/.yml in a directory), in name order. */
export async function sequenceFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => ['.yaml', '.yml'].includes(extname(n))).sort();
  return names.map((n) => join(path, n));
}

/** Parses and validates one file with the same schema as `POST /v1/sequences`. */
export async function loadSequenceFile(file: string): Promise<SequenceFile | FileProblem> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    return {
      file,
      errors: [{ path: '', message: `not valid YAML: ${err instanceof Error ? err.message : String(err)}` }],
    };
  }
  const parsed = CreateSequenceBody.safeParse(raw);
  if (parsed.success) return { file, body: parsed.data };
  return { file, errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) };
}

/**
 * Creates or updates each sequence by name. An update writes a new version only when the file
 * differs from the current one, so applying the same directory twice changes nothing.
 */
export async function applySequenceFiles(
  deps: Pick<Deps, 'db' | 'queues' | 'config' | 'log'>,
  workspaceId: string,
  files: SequenceFile[],
) {
  const results: {
    file: string;
    id: string;
    name: string;
    action: 'created' | 'updated' | 'unchanged';
    version: number;
  }[] = [];
  for (const { file, body } of files) {
    const existing = await findSequenceByName(deps, workspaceId, body.name);
    if (!existing) {
      const created = await createSequence(deps, workspaceId, body);
      if (!created.ok) throw new Error(`${file}: ${created.error}`);
      results.push({ file, id: created.value.id, name: body.name, action: 'created', version: 1 });
      continue;
    }
    const current = await getSequence(deps, workspaceId, existing.id);
    const wanted = resolveDefinition(body);
    if (
      current &&
      isDeepStrictEqual(JSON.parse(JSON.stringify(wanted)), JSON.parse(JSON.stringify(current.definition)))
    ) {
      results.push({
        file,
        id: existing.id,
        name: body.name,
        action: 'unchanged',
        version: existing.currentVersion,
      });
      continue;
    }
    const updated = await updateSequence(deps, workspaceId, existing.id, body);
    if (!updated.ok) throw new Error(`${file}: ${updated.error}`);
    results.push({
      file,
      id: existing.id,
      name: body.name,
      action: 'updated',
      version: updated.value.currentVersion,
    });
  }
  return results;
}
