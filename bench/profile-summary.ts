/**
 * Reads a `.cpuprofile` and prints where the time went: self time by function and by package, so
 * a missed target can be explained from a profile. Run: `npx tsx bench/profile-summary.ts <file> [top]`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = {
  nodes: Node[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
};

/** Where a frame's code lives: a package, our own source, node internals, or the VM itself. */
export function owner(url: string): string {
  if (!url) return '(vm)';
  if (url.startsWith('node:')) return 'node';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const own = /\/(src|workers|bench)\/(.+)$/.exec(url);
  return own ? `${own[1]}/${own[2]?.split('/')[0]}` : url;
}

export function summarize(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of samples.entries()) selfMs.set(id, (selfMs.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  const total = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url.split('/').slice(-2).join('/');
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    const who = frame.url ? owner(frame.url) : frame.functionName;
    byOwner.set(who, (byOwner.get(who) ?? 0) + ms);
  }
  // Inclusive time of our own functions (src/, workers/): which of our call sites the time is under.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      const own = frame && /\/(src|workers)\//.exec(frame.url);
      if (!frame || !own) continue;
      const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Number(((ms / total) * 100).toFixed(1)) }));
  return {
    totalMs: Math.round(total),
    byOwner: sorted(byOwner),
    byFunction: sorted(byFunction),
    ownInclusive: sorted(inclusive),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  const result = summarize(JSON.parse(readFileSync(file, 'utf8')), Number(top) || 25);
  console.log(`total ${result.totalMs} ms (wall clock of the profile)`);
  console.log('\nself time by owner:');
  for (const r of result.byOwner)
    console.log(`${String(r.ms).padStart(8)} ms ${String(r.share).padStart(5)} %  ${r.name}`);
  console.log('\nself time by function:');
  for (const r of result.byFunction)
    console.log(`${String(r.ms).padStart(8)} ms ${String(r.share).padStart(5)} %  ${r.name}`);
  console.log('\ninclusive time of our own functions (synchronous part):');
  for (const r of result.ownInclusive)
    console.log(`${String(r.ms).padStart(8)} ms ${String(r.share).padStart(5)} %  ${r.name}`);
}
