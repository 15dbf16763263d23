/**
 * The what-if editor in the 3D scene, without GL: the edited network laid out from its analysis alone (sizes
 * redrawn before any forward pass), exactly the changed layers framed and labelled, a break marked at its layer in
 * the broken colour, and the model's frames drawn only where they still hold. The oracle for "changed" is a diff
 * of two analyses computed here — VGG-16 and the same network written out by hand with the edit in its definition —
 * and the sizes are (I + 2P − K)/S + 1 worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { Color, DataTexture, LineSegments, type Float32BufferAttribute } from 'three';
import { analyzeGraph, type ModelAnalysis } from '../../renderer/src/analysis';
import { layerMarks, type LayerEdit } from '../../renderer/src/analysis/edit';
import { EditSession } from '../../renderer/src/analysis/edit-session';
import { getZooGraph } from '../../renderer/src/zoo';
import type { LayerFrame, ModelSummary } from '../../common/engine-protocol';
import { itemMarks, sceneEditFor, type EditState, type SceneEdit } from '../../renderer/src/explorer/scene/edit-view';
import { computeLayout, type SceneLayout } from '../../renderer/src/explorer/scene/layout';
import { LabelOverlay } from '../../renderer/src/explorer/scene/labels';
import { ModelView } from '../../renderer/src/explorer/scene/model-view';
import { THEMES } from '../../renderer/src/explorer/scene/theme';
import { vggByHand } from '../analysis/architecture-edit-oracles';
import type { EditFrames } from '../../renderer/src/explorer/stores/architecture-edit';

function summaryOf(analysis: ModelAnalysis): ModelSummary {
  return {
    id: 'vgg16',
    name: 'VGG-16',
    source: 'zoo',
    description: '',
    trained: false,
    preprocess: {} as never,
    analysis,
    frameOrder: analysis.layers.filter((l) => l.kind !== 'input').map((l) => l.id),
  };
}

const VGG = summaryOf(analyzeGraph(getZooGraph('vgg16')));

/** The editor's session on VGG-16 after a preset and layer edits, as the editor publishes it to the store. */
function edited(preset: string | null, edits: LayerEdit[], frames: EditFrames = 'original'): EditState {
  const s = new EditSession('vgg16');
  if (preset) s.applyPreset(preset);
  for (const e of edits) s.setField(e);
  const r = s.update();
  return {
    open: true,
    frames,
    changedLayers: new Set(r.diff?.changed ?? []),
    analysis: r.analysis,
    baseAnalysis: s.baseAnalysis,
    marks: layerMarks(s.base, r),
  };
}

/** What the scene builds for an edit: the layout of the network drawn and a model view with its marks and frames. */
function drawn(edit: SceneEdit) {
  const layout = computeLayout({ id: 'vgg16', analysis: edit.analysis, frameOrder: edit.frameOrder });
  const lut = (): DataTexture => new DataTexture(new Uint8Array(1024), 256, 1);
  const view = new ModelView(layout, {
    luts: { viridis: lut(), diverging: lut() },
    limits: { maxLayers: 2048, maxSize: 4096 },
    colors: THEMES.light,
    colorMap: 'auto',
    normalize: 'channel',
  });
  view.setStale(edit.stale);
  view.setMarks(itemMarks(layout, edit.marks));
  return { layout, view };
}

/** A frame of every layer of the original network, with its original shape; fed as the scene feeds them. */
function feedOriginalFrames(view: ModelView, layout: SceneLayout): void {
  for (const l of VGG.analysis.layers) {
    if (l.kind === 'input') continue;
    const [h, w, c] = l.outputShape.length === 3 ? l.outputShape : [1, 1, l.outputShape[0]];
    const f: LayerFrame = {
      layerId: l.id,
      index: 0,
      shape: [h, w, c],
      fullShape: [...l.outputShape],
      min: new Float32Array(c),
      max: new Float32Array(c).fill(1),
      data: new Uint8Array(h * w * c),
    };
    if ((layout.byId.has(l.id) || layout.itemOf.has(l.id)) && !view.shapeMismatch(f)) view.addFrame(f);
    else view.keep(f);
  }
}

/** Layers of `after` that are new or whose numbers differ from the same-named layer of `before`, plus `touched`. */
function changedByHand(before: ModelAnalysis, after: ModelAnalysis, touched: string[]): string[] {
  const was = new Map(before.layers.map((l) => [l.name, l]));
  const key = (l: ModelAnalysis['layers'][number]) =>
    JSON.stringify([
      l.className,
      l.outputShape,
      l.params.total,
      l.macs,
      l.receptiveField && [l.receptiveField.size, l.receptiveField.jump, l.receptiveField.start],
    ]);
  return after.layers
    .filter((l) => touched.includes(l.name) || !was.has(l.name) || key(was.get(l.name)!) !== key(l))
    .map((l) => l.name)
    .sort();
}

/** The rgb of a marked item's 24 frame vertices (the first one; they are all painted alike). */
function markColor(view: ModelView, item: string): string {
  const lines = view.group.children.find((o) => o.name === 'marks') as LineSegments;
  const i = [...view.marked().keys()].indexOf(item);
  const col = (lines.geometry.getAttribute('color') as Float32BufferAttribute).array;
  return `#${new Color(col[i * 72], col[i * 72 + 1], col[i * 72 + 2]).getHexString()}`;
}

describe('the edited network in the scene', () => {
  const EDIT: LayerEdit = { layer: 'block1_conv1', field: 'kernel', value: 5 };

  it('vgg16-gap + block1_conv1.kernel=5: exactly the changed layers are marked', () => {
    const edit = sceneEditFor(VGG, edited('vgg16-gap', [EDIT]))!;
    const { layout, view } = drawn(edit);
    const byHand = analyzeGraph(vggByHand([2, 2, 3, 3, 3], [[5]], true));
    const expected = changedByHand(VGG.analysis, byHand, ['block1_conv1']);
    // The 5×5 field grows every field downstream; GAP replaces flatten and shrinks fc1.
    expect(expected).toContain('fc1');
    expect(expected).toContain('avg_pool');
    expect(expected).not.toContain('flatten');
    expect([...view.marked().keys()].sort()).toEqual(expected);
    // One LineSegments for every mark, in the changed colour.
    expect(view.group.children.filter((o) => o.name === 'marks')).toHaveLength(1);
    expect(markColor(view, 'block1_conv1')).toBe(THEMES.light.changed);
    // The label lines: 5·5·3·64 + 64 − (3·3·3·64 + 64) = 3,072 more; fc1 (512 − 25,088)·4,096 = −100,663,296.
    const marks = itemMarks(layout, edit.marks);
    expect(marks.get('block1_conv1')?.text).toBe('k 3→5 · +3,072 params');
    expect(marks.get('fc1')?.text).toBe('−100,663,296 params');
    expect(marks.get('avg_pool')?.text).toMatch(/^new/);
    // Its own numbers stand; its field is 3 + 2 = 5 pixels before, 5 + 2 = 7 after.
    expect(marks.get('block1_conv2')?.text).toBe('RF 5→7');
    view.dispose();
  });

  it('redraws the sizes of the edited analysis: a 5×5 valid conv gives (224 + 2·0 − 5)/1 + 1 = 220', () => {
    const edit = sceneEditFor(VGG, edited(null, [EDIT, { layer: 'block1_conv1', field: 'padding', value: 'valid' }]))!;
    const { layout } = drawn(edit);
    // By hand: 220 → pools (220 − 2)/2 + 1 = 110 → 55 → ⌊53/2⌋ + 1 = 27 → ⌊25/2⌋ + 1 = 13 → ⌊11/2⌋ + 1 = 6.
    const sides: Record<string, number> = {
      block1_conv1: 220,
      block1_conv2: 220,
      block1_pool: 110,
      block2_pool: 55,
      block3_pool: 27,
      block4_pool: 13,
      block5_pool: 6,
    };
    for (const [id, side] of Object.entries(sides)) {
      const b = layout.byId.get(id)!;
      expect(b.shape.slice(0, 2), id).toEqual([side, side]);
      expect(b.height, id).toBeCloseTo(side * b.scale, 9);
      expect(b.width, id).toBeCloseTo(side * b.scale, 9);
    }
    // The same sizes as the hand-written network's analysis.
    const byHand = analyzeGraph(vggByHand([2, 2, 3, 3, 3], [[5]], false, [['valid']]));
    for (const l of byHand.layers)
      if (l.kind !== 'input') expect(layout.byId.get(l.id)?.outputShape, l.id).toEqual(l.outputShape);
    // The original is drawn at 224.
    expect(computeLayout(VGG).byId.get('block1_conv1')!.shape).toEqual([224, 224, 64]);
  });

  it('keeps the frames that still hold; changed layers and everything after them are empty slabs', () => {
    const edit = sceneEditFor(VGG, edited('vgg16-gap', []))!;
    const { layout, view } = drawn(edit);
    feedOriginalFrames(view, layout);
    const drawnLayers = layout.blocks.filter((b) => view.layer(b.id)).map((b) => b.id);
    // Up to block5_pool nothing changed; avg_pool is new, fc1 changed, fc2 and predictions read them.
    expect(drawnLayers).toEqual(VGG.frameOrder.filter((id) => id.startsWith('block')));
    for (const id of ['avg_pool', 'fc1', 'fc2', 'predictions']) expect(view.layer(id), id).toBeUndefined();
    // Back to the original (the edit closed): every kept frame is drawn again, flatten's included.
    const original = computeLayout(VGG, { tree: layout.tree });
    view.setStale(new Set());
    view.setMarks(new Map());
    view.applyLayout(original);
    expect(view.layerCount).toBe(VGG.frameOrder.length);
    expect(view.marked().size).toBe(0);
    expect(view.group.children.find((o) => o.name === 'marks')!.visible).toBe(false);
    view.dispose();
  });

  it('a broken edit marks the first failing layer, in red with its problem, on the original network', () => {
    const state = edited(null, [{ layer: 'block5_pool', field: 'kernel', value: 15 }]);
    const edit = sceneEditFor(VGG, state)!;
    expect(edit.analysis).toBe(VGG.analysis);
    const { view } = drawn(edit);
    expect([...view.marked()]).toEqual([
      ['block5_pool', { broken: true, text: expect.stringContaining('breaks: the map shrinks below 1×1') }],
    ]);
    expect(view.marked().get('block5_pool')!.text).toContain('(14 + 2·0 − 15)/2 + 1 = 0.5, floored to 0');
    expect(markColor(view, 'block5_pool')).toBe(THEMES.light.broken);
    view.dispose();
  });

  it('shows the model as it is when the editor is closed or nothing changed; another network’s frames never stand in', () => {
    const state = edited('vgg16-gap', []);
    expect(sceneEditFor(VGG, { ...state, open: false })).toBeNull();
    expect(sceneEditFor(VGG, edited(null, []))).toBeNull();
    expect(sceneEditFor(VGG, { ...state, frames: 'none' })!.stale).toBe('all');
    expect(sceneEditFor(VGG, { ...state, frames: 'edited' })!.stale).toEqual(new Set());
  });

  it('labels carry the mark line, a break in the broken colour', () => {
    const canvas = document.createElement('canvas');
    document.body.appendChild(canvas);
    const overlay = new LabelOverlay(canvas, {
      text: '#111111',
      muted: '#555555',
      halo: '#ffffff',
      accent: '#2f6fde',
      changed: THEMES.light.changed,
      broken: THEMES.light.broken,
    });
    const layout = computeLayout(VGG);
    overlay.setBlocks(layout.blocks);
    const plain = overlay.sizeOf('fc1')!.height;
    overlay.setMarks(
      new Map([
        ['fc1', { text: '−100,663,296 params', broken: false }],
        ['block5_pool', { text: 'breaks: the map shrinks below 1×1', broken: true }],
      ]),
    );
    expect(overlay.markText('fc1')).toBe('−100,663,296 params');
    expect(overlay.sizeOf('fc1')!.height).toBeGreaterThan(plain);
    const mark = overlay.root.querySelector('[data-layer-id="block5_pool"] .fme-scene-label-mark') as HTMLElement;
    expect(mark.dataset.broken).toBe('true');
    expect(new Color(mark.style.color).getHexString()).toBe(THEMES.light.broken.slice(1));
    overlay.setMarks(new Map());
    expect(overlay.markText('fc1')).toBeUndefined();
    overlay.dispose();
  });
});
