/** Summarises V8 .cpuprofile files (node --cpu-prof): self time by function, top N. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

export interface HotFunction {
  readonly name: string;
  readonly where: string;
  /** Share of the busy (non-idle) samples. */
  readonly selfPercent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly samples: number;
  /** Share of samples that were not (idle). */
  readonly busyPercent: number;
  readonly hot: HotFunction[];
}

function shortUrl(url: string, root: string): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = file.startsWith(root) ? path.relative(root, file) : file;
  return relative.replace(/^node_modules\//, '');
}

export function summariseProfile(file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFunction = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? node.hitCount ?? 0;
    if (count === 0) continue;
    total += count;
    const name = node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName;
    if (name === '(idle)') {
      idle += count;
      continue;
    }
    const where =
      node.callFrame.url === '' ? '' : `${shortUrl(node.callFrame.url, root)}:${String(node.callFrame.lineNumber + 1)}`;
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0 };
    entry.hits += count;
    byFunction.set(key, entry);
  }
  const busy = total - idle;
  return {
    file: path.relative(root, file),
    samples: total,
    busyPercent: total === 0 ? 0 : Math.round((busy / total) * 1000) / 10,
    hot: [...byFunction.values()]
      .sort((a, b) => b.hits - a.hits)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        selfPercent: busy === 0 ? 0 : Math.round((f.hits / busy) * 1000) / 10,
      })),
  };
}

/**
 * Every target writes its profiles into `dir/<target>/` (one per thread: tsx's loader runs in a
 * worker). Per target, the thread with the most busy samples is the one that served requests.
 */
export function summariseProfiles(dir: string, root: string): Record<string, ProfileSummary> {
  const out: Record<string, ProfileSummary> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const files = readdirSync(path.join(dir, entry.name)).filter((f) => f.endsWith('.cpuprofile'));
    const summaries = files.map((f) => summariseProfile(path.join(dir, entry.name, f), root));
    const busiest = summaries.sort((a, b) => b.samples * b.busyPercent - a.samples * a.busyPercent)[0];
    if (busiest !== undefined) out[entry.name] = busiest;
  }
  return out;
}
