/**
 * The graph layout on the zoo's and the bundled models' graph IR: Inception branches side by side, residual arcs
 * from a block's input to its add, DenseNet's concatenation inputs, collapsed blocks, labels that never overlap
 * at the default view, and the layout's cost. Expected values come from the graphs themselves (layer inputs,
 * shapes) and from the architectures' published structure, not from the layout's own output.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PerspectiveCamera, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { analyzeGraph, analyzeModelJson } from '../../renderer/src/analysis';
import type { ModelAnalysis } from '../../common/analysis-types';
import type { ModelSummary } from '../../common/engine-protocol';
import { BUNDLED } from '../../renderer/src/engine/catalog';
import { focusViewPose, overviewPose } from '../../renderer/src/explorer/scene/camera';
import { arcEnds, ribbonArrays } from '../../renderer/src/explorer/scene/connectors';
import {
  labelCandidates,
  labelRect,
  labelSize,
  labelText,
  placeLabels,
} from '../../renderer/src/explorer/scene/labels';
import {
  blocksToOpen,
  computeLayout,
  defaultExpanded,
  type SceneLayout,
} from '../../renderer/src/explorer/scene/layout';
import { getZooGraph, ZOO_IDS } from '../../renderer/src/zoo';

function asSummary(id: string, analysis: ModelAnalysis): ModelSummary {
  // What the engine streams: every layer but the input (ir-runner's frame order).
  const frameOrder = analysis.layers.filter((l) => l.kind !== 'input').map((l) => l.id);
  return {
    id,
    name: id,
    source: 'zoo',
    description: '',
    trained: false,
    preprocess: {} as never,
    analysis,
    frameOrder,
  };
}
const cache = new Map<string, ModelSummary>();
function zoo(id: string): ModelSummary {
  let s = cache.get(id);
  if (!s) cache.set(id, (s = asSummary(id, analyzeGraph(getZooGraph(id)))));
  return s;
}
function bundled(folder: string): ModelSummary {
  const file = resolve(__dirname, '../../resources/models', folder, 'model.json');
  return asSummary(folder, analyzeModelJson(JSON.parse(readFileSync(file, 'utf8')), file));
}
/** Blocks of one kind in model order. */
function inOrder(s: ModelSummary, layout: SceneLayout, kind: string) {
  const rank = new Map(s.analysis.layers.map((l, i) => [l.id, i]));
  return layout.tree.blocks.filter((b) => b.kind === kind).sort((a, b) => rank.get(a.output)! - rank.get(b.output)!);
}
const allOpen = (s: ModelSummary): SceneLayout => {
  const first = computeLayout(s);
  return computeLayout(s, { expanded: new Set(first.tree.blocks.map((b) => b.id)), tree: first.tree });
};

describe('branches side by side (GoogLeNet, every block open)', () => {
  it('the four branches of each Inception module start at the same depth, stand apart across the axis and rejoin at the concat', () => {
    const s = zoo('googlenet');
    const layout = allOpen(s);
    const layers = new Map(s.analysis.layers.map((l) => [l.id, l]));
    const modules = layout.tree.blocks.filter((b) => b.kind === 'inception');
    expect(modules).toHaveLength(9);
    for (const m of modules) {
      const entry = layout.itemOf.get(m.entry!)!;
      const merge = layout.byId.get(m.merge!)!;
      // The branches, from the graph: each input of the concat traced back to the module's entry.
      const branches = layers.get(m.merge!)!.inputs.map((last) => {
        const chain: string[] = [];
        for (let id = last; id !== m.entry; id = layers.get(id)!.inputs[0]) chain.unshift(id);
        return chain.map((id) => layout.byId.get(id)!);
      });
      expect(branches).toHaveLength(4);
      const firsts = branches.map((b) => b[0]);
      // Same depth: the first layer of every branch in the column after the entry.
      expect(new Set(firsts.map((b) => b.column))).toEqual(new Set([entry.column + 1]));
      // Apart across the axis: four lanes, one above the other without overlapping.
      expect(new Set(firsts.map((b) => b.lane)).size).toBe(4);
      const sorted = [...firsts].sort((a, b) => b.y - a.y);
      for (let k = 1; k < 4; k++)
        expect(sorted[k - 1].y - sorted[k - 1].height / 2).toBeGreaterThan(sorted[k].y + sorted[k].height / 2);
      // Each branch keeps its real length: one column per layer, all in its lane, in data order.
      for (const b of branches) {
        b.forEach((item, k) => {
          expect(item.column).toBe(entry.column + 1 + k);
          expect(item.lane).toBe(b[0].lane);
          expect(item.y).toBe(b[0].y);
        });
      }
      // They rejoin at the merge layer, which stands after the longest branch, back on the entry's line.
      const longest = Math.max(...branches.map((b) => b.length));
      expect(merge.column).toBe(entry.column + 1 + longest);
      expect(merge.lane).toBe(0);
      const main = branches.find((b) => b[0].lane === 0)!;
      expect(merge.y).toBeCloseTo(main[0].y);
      for (const b of branches) for (const item of b) expect(item.row).toBe(merge.row);
    }
  });

  it('InceptionV3 (bundled) keeps mixed9’s split 1×3 / 3×1 branches in lanes of their own', () => {
    const s = bundled('inceptionv3');
    const layout = allOpen(s);
    const inner = layout.tree.blocks.filter((b) => b.kind === 'branches');
    expect(inner.length).toBe(4);
    for (const b of inner) {
      const ins = s.analysis.layers.find((l) => l.id === b.merge)!.inputs.map((id) => layout.byId.get(id)!);
      expect(ins).toHaveLength(2);
      expect(ins[0].lane).not.toBe(ins[1].lane);
      expect(ins[0].column).toBe(ins[1].column);
    }
  });
});

describe('residual skips (ResNet-50)', () => {
  it('every open bottleneck block has one arc from its input to its add; projections sit on the arc', () => {
    const s = zoo('resnet50');
    const layout = allOpen(s);
    const skips = layout.arcs.filter((a) => a.kind === 'skip');
    expect(skips).toHaveLength(16);
    const layers = new Map(s.analysis.layers.map((l) => [l.id, l]));
    let projections = 0;
    for (const a of skips) {
      const block = layout.tree.byId.get(a.block)!;
      const add = layers.get(block.merge!)!;
      expect(add.kind).toBe('add');
      // The ends, from the graph: the layer feeding the block (the previous block's output) and the add.
      const from = layout.byId.get(block.entry!)!;
      const to = layout.byId.get(add.id)!;
      expect(a.from).toBe(from.index);
      expect(a.to).toBe(to.index);
      const { start, end } = arcEnds(a);
      expect(start[0]).toBeCloseTo(from.x);
      expect(start[1]).toBeCloseTo(from.y + from.height / 2);
      expect(end[0]).toBeCloseTo(to.x);
      expect(end[1]).toBeCloseTo(to.y + to.height / 2);
      // The arc rises above every map it passes over.
      const over = layout.blocks.filter((b) => b.row === from.row && b.x > from.x && b.x < to.x && b.lane >= 0);
      const peak = Math.max(...a.points.map((p) => p[1]));
      for (const b of over) expect(peak).toBeGreaterThan(b.y + b.height / 2);
      // The add's two inputs: one is the main path's last layer, the other the entry or a projection.
      const shortcutInput = add.inputs.find((id) => id === block.entry || layers.get(id)!.kind === 'norm')!;
      if (a.via.length) {
        projections++;
        const convs = a.via.map((k) => layout.blocks[k]);
        expect(convs.map((b) => b.kind).sort()).toEqual(['conv', 'norm']);
        for (const b of convs) expect(b.lane).toBeLessThan(0); // above the main path, under the arc
        expect(convs.map((b) => b.id)).toContain(shortcutInput);
      }
    }
    expect(projections).toBe(4);
  });

  it('collapsed (the default view), each block still shows its skip from the item before it', () => {
    const s = zoo('resnet50');
    const layout = computeLayout(s);
    const groups = layout.blocks.filter((b) => b.group?.kind === 'residual');
    expect(groups).toHaveLength(16);
    const skips = layout.arcs.filter((a) => a.kind === 'skip');
    // Arcs between items on the same row; a row break may cut one.
    expect(skips.length).toBeGreaterThanOrEqual(16 - (layout.rows - 1));
    for (const a of skips) expect(layout.blocks[a.to].group?.kind).toBe('residual');
    // Each collapsed block's diagram draws its own wiring, a skip arc included for identity shortcuts.
    for (const g of groups) {
      const d = g.group!.diagram;
      expect(d.rects.length).toBeGreaterThanOrEqual(10);
      expect(d.box[1]).toBeGreaterThan(g.y + g.height / 2); // above the maps
    }
    expect(groups.filter((g) => g.group!.diagram.arcs.length === 1)).toHaveLength(12);
  });
});

describe('concatenations (DenseNet-121)', () => {
  it('an open dense block shows each dense layer stacking every earlier one; the channels grow, the transition halves them', () => {
    const s = zoo('densenet121');
    const first = computeLayout(s);
    const block1 = inOrder(s, first, 'dense-block')[0];
    const layout = computeLayout(s, { expanded: new Set([block1.id]), tree: first.tree });
    const kids = block1.children.map((c) => layout.blocks.find((b) => b.group?.id === c)!);
    expect(kids).toHaveLength(6);
    // Dense layer k's concat stacks the block input and the k − 1 dense layers before it (by channels: 64 + 32k).
    const layers = new Map(s.analysis.layers.map((l) => [l.id, l]));
    kids.forEach((k, i) => expect(layers.get(k.id)!.outputShape[2]).toBe(64 + 32 * (i + 1)));
    for (let i = 1; i < kids.length; i++) expect(kids[i].depth).toBeGreaterThan(kids[i - 1].depth);
    const entry = layout.itemOf.get(block1.entry!)!;
    const concat = layout.arcs.filter((a) => a.kind === 'concat' && a.block === block1.id);
    kids.forEach((k, j) => {
      const into = concat.filter((a) => a.to === k.index).map((a) => a.from);
      // Every earlier source except the immediate predecessor, whose own edge already leads in.
      const expected = [entry.index, ...kids.slice(0, Math.max(0, j - 1)).map((x) => x.index)].slice(0, j);
      expect(into.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    });
    expect(concat).toHaveLength(0 + 1 + 2 + 3 + 4 + 5);
    // The transition after it: BN → 1×1 conv → 2×2 average pool, half the channels.
    const transition = layout.blocks.find((b) => b.group?.kind === 'transition')!;
    expect(layers.get(transition.id)!.outputShape[2]).toBe(layers.get(block1.output)!.outputShape[2] / 2);
    expect(transition.depth).toBeLessThan(kids[5].depth);
  });

  it('an open dense layer connects its input to its concatenation, whose inputs are exactly those two', () => {
    const s = zoo('densenet121');
    const first = computeLayout(s);
    const dense = inOrder(s, first, 'dense-layer')[3];
    const open = new Set([dense.parent!, dense.id]);
    const layout = computeLayout(s, { expanded: open, tree: first.tree });
    const arc = layout.arcs.find((a) => a.block === dense.id)!;
    const concat = s.analysis.layers.find((l) => l.id === dense.merge)!;
    expect(concat.kind).toBe('concat');
    const fromItem = layout.itemOf.get(concat.inputs[0])!;
    expect(arc.from).toBe(fromItem.index);
    expect(arc.to).toBe(layout.byId.get(concat.id)!.index);
    expect(layout.byId.get(concat.inputs[1])).toBeDefined(); // the new 32 maps, drawn on the main line
  });
});

describe('blocks that open and close', () => {
  it('large models open collapsed, small ones open; stepping into a block names the blocks to open', () => {
    const g = zoo('googlenet');
    const layout = computeLayout(g);
    expect(layout.blocks.filter((b) => b.group?.kind === 'inception')).toHaveLength(9);
    expect(layout.blocks.length).toBeLessThan(40);
    expect(defaultExpanded(layout.tree, 10).size).toBe(layout.tree.blocks.length);
    expect(blocksToOpen(layout.tree, layout.expanded, 'inception4a_3x3_conv')).toEqual(['inception:inception4a']);
    expect(blocksToOpen(layout.tree, layout.expanded, 'conv1_conv')).toEqual([]);
    // A collapsed item shows its output layer's maps and its totals.
    const m = layout.byId.get('inception4a')!;
    const members = layout.tree.byId.get('inception:inception4a')!.layers;
    expect([...m.layers].sort()).toEqual([...members].sort());
    const params = members.reduce((n, id) => n + g.analysis.layers.find((l) => l.id === id)!.params.total, 0);
    expect(m.group!.params).toBe(params);
    // Its diagram: the four branches in four lanes.
    const ys = new Set(m.group!.diagram.rects.map((r) => ((r[1] + r[3]) / 2).toFixed(3)));
    expect(ys.size).toBe(4);
    // AlexNet has no blocks: every layer is drawn.
    expect(computeLayout(zoo('alexnet')).blocks.every((b) => !b.group)).toBe(true);
  });

  it('all connectors of a model go into one ribbon mesh', () => {
    const layout = allOpen(zoo('resnet50'));
    const r = ribbonArrays(layout, { skip: [1, 0, 0], concat: [0, 0, 1] });
    expect(r.count).toBe(layout.arcs.length);
    const points = layout.arcs.reduce((n, a) => n + a.points.length, 0);
    expect(r.positions.length).toBe(points * 2 * 3);
    expect(r.indices.length).toBe((points - layout.arcs.length) * 6);
  });
});

/** Label rectangles shown at the default (overview) view of a layout on a 1280×720 canvas. */
function defaultLabels(layout: SceneLayout, focus: string | null = null) {
  const width = 1280;
  const height = 720;
  const cam = new PerspectiveCamera(35, width / height, 0.1, 1e6);
  const pose = focus
    ? focusViewPose(layout, layout.byId.get(focus)!.index, 35, width / height)
    : overviewPose(layout, 35, width / height);
  cam.position.set(...pose.position);
  cam.lookAt(new Vector3(...pose.target));
  cam.updateMatrixWorld();
  cam.updateProjectionMatrix();
  const vp = cam.projectionMatrix.clone().multiply(cam.matrixWorldInverse);
  const sizes = new Map(layout.blocks.map((b) => [b.id, labelSize(labelText(b))]));
  const focal = height / 2 / Math.tan((35 * Math.PI) / 360);
  const { candidates } = labelCandidates(
    layout,
    { viewProjection: vp.elements, view: cam.matrixWorldInverse.elements, width, height, focalPx: focal, near: 0.1 },
    (id) => sizes.get(id),
    focus,
  );
  const shown = placeLabels(candidates, width, height);
  return { shown: candidates.filter((c) => shown.has(c.id)), candidates, width, height };
}

describe('labels at the default view', () => {
  const models: [string, () => ModelSummary][] = [
    ...ZOO_IDS.map((id) => [id, () => zoo(id)] as [string, () => ModelSummary]),
    ...BUNDLED.map((b) => [b.entry.id, () => bundled(b.folder)] as [string, () => ModelSummary]),
  ];
  it.each(models)('%s: no two visible labels overlap, all on screen, and the blocks are named', (_, get) => {
    const layout = computeLayout(get());
    const { shown, width, height } = defaultLabels(layout);
    const rects = shown.map(labelRect);
    for (let i = 0; i < rects.length; i++) {
      const a = rects[i];
      expect(a.x0).toBeGreaterThanOrEqual(0);
      expect(a.y0).toBeGreaterThanOrEqual(0);
      expect(a.x1).toBeLessThanOrEqual(width);
      expect(a.y1).toBeLessThanOrEqual(height);
      for (let j = i + 1; j < rects.length; j++) {
        const b = rects[j];
        const overlap = a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
        expect(overlap, `${shown[i].id} overlaps ${shown[j].id}`).toBe(false);
      }
    }
    // Readable, not a speck field: a good share of the items carry a label at the overview.
    expect(shown.length).toBeGreaterThanOrEqual(Math.min(6, layout.blocks.length));
  });

  it('focusing a layer keeps its neighbours in view and labels it first', () => {
    const layout = computeLayout(zoo('mobilenetv2'));
    const focus = layout.blocks[10];
    const { shown } = defaultLabels(layout, focus.id);
    expect(shown.map((c) => c.id)).toContain(focus.id);
    const width = 1280;
    const height = 720;
    const pose = focusViewPose(layout, focus.index, 35, width / height);
    const cam = new PerspectiveCamera(35, width / height, 0.1, 1e6);
    cam.position.set(...pose.position);
    cam.lookAt(new Vector3(...pose.target));
    cam.updateMatrixWorld();
    const neighbours = layout.edges
      .filter(([a, b]) => a === focus.index || b === focus.index)
      .map(([a, b]) => (a === focus.index ? b : a));
    expect(neighbours.length).toBeGreaterThanOrEqual(2);
    for (const k of neighbours) {
      const b = layout.blocks[k];
      for (const [dx, dy] of [
        [-1, -1],
        [1, 1],
      ]) {
        const p = new Vector3(b.x + (dx * b.width) / 2, b.y + (dy * b.height) / 2, 0).project(cam);
        expect(Math.abs(p.x)).toBeLessThanOrEqual(1);
        expect(Math.abs(p.y)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('cost', () => {
  it('lays out InceptionV3 (317 layers) and DenseNet-121 (428) in ≤ 50 ms, block recognition included', () => {
    // CPU time of this process (user + system), not wall time: the test machine is shared, and time spent
    // waiting for a core is not time the layout costs. The median of 15 runs.
    const median = (f: () => void): number => {
      const t: number[] = [];
      for (let i = 0; i < 15; i++) {
        const c0 = process.cpuUsage();
        f();
        const c = process.cpuUsage(c0);
        t.push((c.user + c.system) / 1000);
      }
      return t.sort((a, b) => a - b)[7];
    };
    const inception = bundled('inceptionv3');
    const densenet = zoo('densenet121');
    expect(inception.analysis.layers.length).toBeGreaterThanOrEqual(312);
    expect(densenet.analysis.layers.length).toBe(429); // 428 layers after the input
    for (const s of [inception, densenet]) {
      const open = new Set(computeLayout(s).tree.blocks.map((b) => b.id));
      expect(median(() => computeLayout(s))).toBeLessThanOrEqual(50);
      expect(median(() => computeLayout(s, { expanded: open }))).toBeLessThanOrEqual(50);
    }
  });
});
