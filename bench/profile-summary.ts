// `tsx bench/profile-summary.ts <file.cpuprofile[.gz]> [top]`: self time by function and by package of a V8 CPU profile.
// `... <file> --callers writev,writeBuffer`: the self time of those functions by the packages that called them.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package under node_modules, a project file, or the runtime. */
export function origin(url: string): string {
  if (!url) return '(native/gc/idle)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node core';
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}

export function summarise(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = origin(url);
    const key = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    pkg.set(where, (pkg.get(where) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  return { total_ms: Math.round(total / 1000), functions: rank(fn), origins: rank(pkg) };
}

/**
 * The self time of the functions named in `names`, grouped by who called them: the chain of distinct origins
 * (packages, project files) above each sample, nearest first, node core left out, at most `depth` links.
 */
export function callers(profile: Profile, names: readonly string[], depth = 4) {
  const wanted = new Set(names);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const chains = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node || !wanted.has(node.callFrame.functionName)) continue;
    const chain: string[] = [];
    for (let p = parent.get(id); p !== undefined && chain.length < depth; p = parent.get(p)) {
      const url = byId.get(p)?.callFrame.url ?? '';
      const where = origin(url);
      if (!url || where === 'node core' || chain.at(-1) === where) continue;
      chain.push(where);
    }
    const key = `${node.callFrame.functionName} <- ${chain.join(' <- ') || '(root)'}`;
    chains.set(key, (chains.get(key) ?? 0) + us);
  }
  return [...chains].sort((a, b) => b[1] - a[1]).map(([chain, us]) => ({ chain, ms: Math.round(us / 1000) }));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--callers');
  const names = at >= 0 ? (args.splice(at, 2)[1] ?? '').split(',').filter(Boolean) : undefined;
  const [file, top] = args;
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top] [--callers fn1,fn2]');
    process.exit(2);
  }
  const raw = readFileSync(file);
  const text = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const profile = JSON.parse(text) as Profile;
  if (names) {
    for (const c of callers(profile, names).slice(0, Number(top ?? 25)))
      console.log(`${String(c.ms).padStart(7)} ms  ${c.chain}`);
    process.exit(0);
  }
  const s = summarise(profile, Number(top ?? 25));
  console.log(`total sampled: ${s.total_ms} ms\n\nby origin (self time):`);
  for (const o of s.origins)
    console.log(`${String(o.pct).padStart(5)}%  ${String(o.ms).padStart(6)} ms  ${o.name}`);
  console.log('\nby function (self time):');
  for (const f of s.functions)
    console.log(`${String(f.pct).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.name}`);
}
