/**
 * Block recognition: the repeated units a lecture draws — Inception modules, residual blocks, DenseNet dense
 * layers / dense blocks / transitions, MobileNet inverted-residual blocks and nested models — found in any
 * model's layer graph by structure (dominators of merge layers) and by the model's own name scopes, never by a
 * per-architecture list. Pure functions over the analysis' layers, no tfjs, no three.js.
 *
 * Method. Layers are ordered topologically and each layer's immediate dominator is computed (Cooper, Harvey &
 * Kennedy, "A Simple, Fast Dominance Algorithm", 2001, on a DAG in one pass). A merge layer M (add /
 * concatenate with ≥ 2 inputs) whose immediate dominator F is a real layer closes a single-entry region: the
 * layers on paths from F to M. That region is
 * - a residual block when M adds (the shortest path F → M is the skip: no layer for an identity shortcut, a
 *   1×1 conv (+ norm) for a projection shortcut);
 * - an inverted-residual block when M adds and the long path has a depthwise conv followed by a narrower 1×1
 *   "project" conv (MobileNetV2's linear bottleneck); the same pattern without an add (a stride-2 or
 *   channel-changing block) is found from the depthwise conv along its chain;
 * - a dense layer when M concatenates F itself with features computed from F (DenseNet); consecutive dense
 *   layers (each one's F is the previous one's M) form a dense block, and the chain between two dense blocks is
 *   a transition when it has a conv and a pool;
 * - an Inception module when M concatenates ≥ 2 branches that all do work (a concatenation of branches inside
 *   a module is a `branches` block within it).
 * Layers that share a scope prefix (a nested model, e.g. Teachable Machine's MobileNet inside its Sequential)
 * form a `nested` block per prefix. Blocks nest by containment; a candidate that overlaps another without
 * either containing the other is dropped (the larger one stays).
 */
import type { LayerAnalysis } from '../../../common/analysis-types';

/** What a recognised unit is. */
export type BlockKind =
  'inception' | 'branches' | 'residual' | 'inverted-residual' | 'dense-layer' | 'dense-block' | 'transition' | 'nested';

/** One recognised unit of the model. */
export interface LayerBlock {
  /** Unique within the model. */
  id: string;
  kind: BlockKind;
  /** Display name: the model's own prefix of its layers' names where they share one, else the merge layer's. */
  name: string;
  /** Every layer inside the block (children's layers included), in model order. */
  layers: string[];
  /** The layer feeding the block (its single entry), or null when the block starts at the model's input. */
  entry: string | null;
  /** The block's last layer: the maps a collapsed block shows. */
  output: string;
  /** The add / concatenate that closes the block, when one does. */
  merge?: string;
  /** Parallel paths from `entry` to `merge`, each in data order (an identity path is []); residual, inception, dense. */
  branches?: string[][];
  /** Residual blocks: the skip path's layers ([] for an identity shortcut, the projection's conv and norm otherwise). */
  shortcut?: string[];
  /** Residual blocks: 1×1 → 3×3 → 1×1 convs on the long path (ResNet-50's bottleneck). */
  bottleneck?: boolean;
  /** Enclosing block's id, or null at the top. */
  parent: string | null;
  /** Blocks directly inside this one, in model order. */
  children: string[];
  /** Nesting depth: 0 at the top. */
  depth: number;
  /** Sum over the block's layers. */
  params: number;
  macs: number;
}

/** Every block of a model, with lookups. */
export interface BlockTree {
  /** Outer blocks before inner ones, each level in model order. */
  blocks: LayerBlock[];
  byId: Map<string, LayerBlock>;
  /** Layer id → the innermost block holding it (layers outside every block are absent). */
  blockOf: Map<string, string>;
  /** Top-level blocks in model order. */
  roots: string[];
  /** Non-fatal problems (a cycle, unknown inputs); recognition then finds fewer blocks, never fails. */
  warnings: string[];
}

type Layer = Pick<LayerAnalysis, 'id' | 'name' | 'kind' | 'inputs' | 'outputShape' | 'params' | 'macs'> & {
  scope?: string[];
  geometry?: LayerAnalysis['geometry'];
};

interface Candidate {
  kind: BlockKind;
  name: string;
  members: Set<number>;
  entry: number | null;
  output: number;
  merge?: number;
  branches?: number[][];
  shortcut?: number[];
  bottleneck?: boolean;
}

const channels = (l: Layer): number => l.outputShape[l.outputShape.length - 1] ?? 0;
const isOneByOne = (l: Layer): boolean =>
  l.kind === 'conv' && !!l.geometry && l.geometry.kernel[0] === 1 && l.geometry.kernel[1] === 1;
const passThrough = (l: Layer): boolean => l.kind === 'norm' || l.kind === 'activation' || l.kind === 'padding';

/** Longest common prefix of names, cut back to a separator (`conv2_block1_1_conv`, … → `conv2_block1`). */
function commonName(names: string[], fallback: string): string {
  if (!names.length) return fallback;
  let p = names[0];
  for (const n of names) {
    let i = 0;
    while (i < p.length && i < n.length && p[i] === n[i]) i++;
    p = p.slice(0, i);
  }
  const cut = Math.max(p.lastIndexOf('_'), p.lastIndexOf('/'), p.lastIndexOf('.'));
  const name = names.every((n) => n.length === p.length) ? p : cut > 0 ? p.slice(0, cut) : '';
  return name.length >= 3 ? name : fallback;
}

/** Recognises the blocks of a model from its analysed layers (see the module comment). */
export function recognizeBlocks(layers: readonly Layer[]): BlockTree {
  const warnings: string[] = [];
  const n = layers.length;
  const index = new Map<string, number>();
  layers.forEach((l, i) => index.set(l.id, i));
  const preds: number[][] = layers.map((l) => {
    const out: number[] = [];
    for (const id of l.inputs) {
      const j = index.get(id);
      if (j === undefined) warnings.push(`layer "${l.id}" names input "${id}", which the model does not have`);
      else if (!out.includes(j)) out.push(j);
    }
    return out;
  });
  const succs: number[][] = layers.map(() => []);
  preds.forEach((ps, i) => ps.forEach((p) => succs[p].push(i)));

  // Topological order (Kahn); on a cycle, recognise nothing rather than loop.
  const indeg = preds.map((p) => p.length);
  const order: number[] = [];
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (!indeg[i]) queue.push(i);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    order.push(v);
    for (const s of succs[v]) if (--indeg[s] === 0) queue.push(s);
  }
  if (order.length < n) {
    warnings.push('the layer graph has a cycle; no blocks recognised');
    return { blocks: [], byId: new Map(), blockOf: new Map(), roots: [], warnings };
  }
  const rank = new Int32Array(n);
  order.forEach((v, k) => (rank[v] = k + 1)); // rank 0 is the virtual root above every input

  // Immediate dominators on the DAG, a virtual root (−1) above every source.
  const idom = new Int32Array(n).fill(-1);
  const rankOf = (v: number): number => (v < 0 ? 0 : rank[v]);
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (rankOf(a) > rankOf(b)) a = idom[a];
      while (rankOf(b) > rankOf(a)) b = idom[b];
    }
    return a;
  };
  for (const v of order) {
    const ps = preds[v];
    if (!ps.length) {
      idom[v] = -1;
      continue;
    }
    let d = ps[0];
    for (let k = 1; k < ps.length; k++) d = intersect(d, ps[k]);
    idom[v] = d;
  }

  /** Layers strictly between fork `f` and merge `m`: walk back from m's inputs, stopping at f. */
  const region = (f: number, m: number): Set<number> => {
    const seen = new Set<number>();
    const stack = preds[m].filter((p) => p !== f);
    while (stack.length) {
      const v = stack.pop()!;
      if (seen.has(v) || v === f) continue;
      seen.add(v);
      for (const p of preds[v]) if (p !== f && !seen.has(p)) stack.push(p);
    }
    return seen;
  };
  /** One input's path back to `f`, in data order: its layers that are not shared with the other inputs. */
  const branchOf = (f: number, start: number, members: Set<number>): number[] => {
    if (start === f) return [];
    const seen = new Set<number>();
    const stack = [start];
    while (stack.length) {
      const v = stack.pop()!;
      if (v === f || seen.has(v) || !members.has(v)) continue;
      seen.add(v);
      stack.push(...preds[v]);
    }
    return [...seen].sort((a, b) => rank[a] - rank[b]);
  };
  const sorted = (s: Iterable<number>): number[] => [...s].sort((a, b) => rank[a] - rank[b]);
  const nameOf = (members: Iterable<number>, fallback: string): string =>
    commonName(
      sorted(members).map((i) => layers[i].name),
      fallback,
    );

  const candidates: Candidate[] = [];
  const invertedAt = new Set<number>(); // depthwise layers already inside an inverted-residual block

  /** The inverted-residual pattern around depthwise `d`: [expand | null, project, end of chain] or null. */
  const invertedChain = (d: number): { expand: number | null; first: number; project: number; last: number } | null => {
    // Forward through norm / activation to a narrower 1×1 project conv, then through its norm.
    let v = d;
    for (;;) {
      if (succs[v].length !== 1) return null;
      v = succs[v][0];
      if (isOneByOne(layers[v])) break;
      if (!passThrough(layers[v])) return null;
    }
    const project = v;
    if (!(channels(layers[project]) < channels(layers[d]))) return null;
    let last = project;
    while (succs[last].length === 1 && layers[succs[last][0]].kind === 'norm') last = succs[last][0];
    // Backward through norm / activation / padding to an expanding 1×1 conv (optional).
    let first = d;
    let u = d;
    let expand: number | null = null;
    while (preds[u].length === 1 && succs[preds[u][0]].length === 1) {
      const p = preds[u][0];
      if (isOneByOne(layers[p])) {
        const src = preds[p][0];
        if (src !== undefined && channels(layers[p]) > channels(layers[src])) {
          expand = p;
          first = p;
        }
        break;
      }
      if (!passThrough(layers[p])) break;
      u = p;
      first = p;
    }
    if (expand === null) first = d; // no expansion: the block starts at the depthwise conv
    return { expand, first, project, last };
  };

  // Merge layers close single-entry regions.
  for (const m of order) {
    const l = layers[m];
    if ((l.kind !== 'add' && l.kind !== 'concat') || preds[m].length < 2) continue;
    const f = idom[m];
    if (f < 0) continue;
    const members = region(f, m);
    members.add(m);
    const branches = preds[m].map((p) => branchOf(f, p, members));
    if (l.kind === 'add') {
      let output = m;
      const next = succs[m];
      if (next.length === 1 && layers[next[0]].kind === 'activation' && preds[next[0]].length === 1) {
        output = next[0];
        members.add(output);
      }
      const dw = sorted(members).find((v) => layers[v].kind === 'depthwise' && invertedChain(v));
      const byLength = [...branches].sort((a, b) => a.length - b.length);
      const shortcut = byLength[0];
      const main = byLength[byLength.length - 1];
      if (dw !== undefined) {
        invertedAt.add(dw);
        candidates.push({
          kind: 'inverted-residual',
          name: nameOf(members, l.name),
          members,
          entry: f,
          output,
          merge: m,
          branches,
          shortcut,
        });
      } else {
        const convs = main.filter((v) => layers[v].kind === 'conv');
        const k = convs.map((v) => layers[v].geometry?.kernel[0] ?? 0);
        candidates.push({
          kind: 'residual',
          name: nameOf(members, l.name),
          members,
          entry: f,
          output,
          merge: m,
          branches,
          shortcut,
          bottleneck: k.length === 3 && k[0] === 1 && k[1] > 1 && k[2] === 1,
        });
      }
    } else {
      const identity = branches.some((b) => b.length === 0);
      const working = branches.filter((b) => b.length > 0).length;
      if (identity && preds[m].length === 2) {
        candidates.push({
          kind: 'dense-layer',
          name: nameOf(members, l.name),
          members,
          entry: f,
          output: m,
          merge: m,
          branches,
        });
      } else if (working >= 2) {
        candidates.push({ kind: 'inception', name: l.name, members, entry: f, output: m, merge: m, branches });
      }
    }
  }

  // Inverted-residual blocks without an add (stride 2 or a change of width), from their depthwise conv.
  for (const d of order) {
    if (layers[d].kind !== 'depthwise' || invertedAt.has(d)) continue;
    const chain = invertedChain(d);
    if (!chain) continue;
    const members = new Set<number>();
    let v = chain.first;
    members.add(v);
    while (v !== chain.last) {
      v = succs[v][0];
      members.add(v);
    }
    const entry = preds[chain.first][0] ?? null;
    candidates.push({
      kind: 'inverted-residual',
      name: nameOf(members, layers[d].name),
      members,
      entry,
      output: chain.last,
    });
  }

  // Dense blocks: runs of dense layers where each one's entry is the previous one's merge.
  const denseLayers = candidates
    .filter((c) => c.kind === 'dense-layer')
    .sort((a, b) => rank[a.output] - rank[b.output]);
  const runs: Candidate[][] = [];
  for (const c of denseLayers) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1].output === c.entry) run.push(c);
    else runs.push([c]);
  }
  const denseBlocks: Candidate[] = [];
  for (const run of runs) {
    if (run.length < 2) continue;
    const members = new Set<number>();
    for (const c of run) for (const v of c.members) members.add(v);
    const block: Candidate = {
      kind: 'dense-block',
      name: nameOf(members, `dense block ${denseBlocks.length + 1}`),
      members,
      entry: run[0].entry,
      output: run[run.length - 1].output,
    };
    denseBlocks.push(block);
    candidates.push(block);
  }
  // Transitions: the single chain from one dense block's output to the next one's entry, with a conv and a pool.
  for (let k = 0; k + 1 < denseBlocks.length; k++) {
    const from = denseBlocks[k].output;
    const to = denseBlocks[k + 1].entry;
    if (to === null) continue;
    const chain: number[] = [];
    let v: number = to;
    while (v !== from && preds[v].length === 1 && chain.length < 64) {
      chain.unshift(v);
      v = preds[v][0];
    }
    if (v !== from || !chain.length) continue;
    const kinds = new Set(chain.map((i) => layers[i].kind));
    if (!kinds.has('conv') || !kinds.has('pool')) continue;
    const members = new Set(chain);
    candidates.push({
      kind: 'transition',
      name: nameOf(members, `transition ${k + 1}`),
      members,
      entry: from,
      output: to,
    });
  }

  // Nested models: one block per scope prefix.
  const scopes = new Map<string, { path: string[]; members: Set<number> }>();
  layers.forEach((l, i) => {
    const s = l.scope ?? [];
    for (let d = 1; d <= s.length; d++) {
      const key = s.slice(0, d).join('\u0000');
      let e = scopes.get(key);
      if (!e) scopes.set(key, (e = { path: s.slice(0, d), members: new Set() }));
      e.members.add(i);
    }
  });
  for (const { path, members } of scopes.values()) {
    const list = sorted(members);
    const first = list[0];
    const last = list[list.length - 1];
    const outside = preds[first].find((p) => !members.has(p));
    candidates.push({
      kind: 'nested',
      name: path[path.length - 1],
      members,
      entry: outside ?? null,
      output: last,
    });
  }

  // Inception candidates inside another Inception module are its inner branch merges.
  const inceptions = candidates.filter((c) => c.kind === 'inception');
  for (const c of inceptions)
    if (
      inceptions.some(
        (o) => o !== c && o.members.size > c.members.size && [...c.members].every((v) => o.members.has(v)),
      )
    )
      c.kind = 'branches';

  // Nest by containment: larger first; a candidate overlapping a kept one without nesting is dropped.
  const priority: Record<BlockKind, number> = {
    nested: 0,
    'dense-block': 1,
    inception: 2,
    residual: 2,
    'inverted-residual': 2,
    transition: 2,
    'dense-layer': 3,
    branches: 4,
  };
  candidates.sort(
    (a, b) => b.members.size - a.members.size || priority[a.kind] - priority[b.kind] || rank[a.output] - rank[b.output],
  );
  const kept: { c: Candidate; id: string; parent: number | null }[] = [];
  const innermost = new Int32Array(n).fill(-1); // layer → index into kept
  const usedIds = new Set<string>();
  for (const c of candidates) {
    // The block directly around c: the innermost kept block holding c's first member.
    const anyMember = c.members.values().next().value as number;
    const around = innermost[anyMember];
    let fits = true;
    for (const v of c.members) if (innermost[v] !== around) fits = false;
    if (!fits) continue;
    if (around >= 0 && kept[around].c.members.size === c.members.size) {
      // Same layers as the enclosing block (a nested model that is one Inception module, …): keep the outer.
      continue;
    }
    let id = c.kind === 'nested' ? `nested:${c.name}` : `${c.kind}:${c.name}`;
    for (let k = 2; usedIds.has(id); k++) id = `${c.kind}:${c.name}#${k}`;
    usedIds.add(id);
    kept.push({ c, id, parent: around >= 0 ? around : null });
    for (const v of c.members) innermost[v] = kept.length - 1;
  }

  const ids = (list: number[] | undefined): string[] | undefined => list?.map((i) => layers[i].id);
  const blocks: LayerBlock[] = kept.map(({ c, id, parent }) => {
    const members = sorted(c.members);
    let params = 0;
    let macs = 0;
    for (const v of members) {
      params += layers[v].params.total;
      macs += layers[v].macs;
    }
    return {
      id,
      kind: c.kind,
      name: c.name,
      layers: members.map((i) => layers[i].id),
      entry: c.entry === null ? null : layers[c.entry].id,
      output: layers[c.output].id,
      ...(c.merge !== undefined ? { merge: layers[c.merge].id } : {}),
      ...(c.branches ? { branches: c.branches.map((b) => ids(b)!) } : {}),
      ...(c.shortcut ? { shortcut: ids(c.shortcut) } : {}),
      ...(c.bottleneck !== undefined ? { bottleneck: c.bottleneck } : {}),
      parent: parent === null ? null : kept[parent].id,
      children: [],
      depth: 0,
      params,
      macs,
    };
  });
  const byId = new Map(blocks.map((b) => [b.id, b] as const));
  const firstRank = (b: LayerBlock): number => rank[index.get(b.layers[0])!];
  const roots: string[] = [];
  for (const b of blocks) {
    if (b.parent) byId.get(b.parent)!.children.push(b.id);
    else roots.push(b.id);
  }
  for (const b of blocks) b.children.sort((x, y) => firstRank(byId.get(x)!) - firstRank(byId.get(y)!));
  roots.sort((x, y) => firstRank(byId.get(x)!) - firstRank(byId.get(y)!));
  for (const b of blocks) b.depth = b.parent ? byId.get(b.parent)!.depth + 1 : 0;
  const blockOf = new Map<string, string>();
  innermost.forEach((k, i) => {
    if (k >= 0) blockOf.set(layers[i].id, kept[k].id);
  });
  return { blocks, byId, blockOf, roots, warnings };
}

/** The blocks holding a layer, innermost first. */
export function blocksAround(tree: Pick<BlockTree, 'byId' | 'blockOf'>, layerId: string): LayerBlock[] {
  const out: LayerBlock[] = [];
  let id = tree.blockOf.get(layerId) ?? null;
  while (id) {
    const b = tree.byId.get(id);
    if (!b) break;
    out.push(b);
    id = b.parent;
  }
  return out;
}

/** Blocks of one kind (all depths). */
export function blocksOfKind(tree: Pick<BlockTree, 'blocks'>, kind: BlockKind): LayerBlock[] {
  return tree.blocks.filter((b) => b.kind === kind);
}
