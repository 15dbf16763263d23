/**
 * The pieces around the wiring that need no GL: vector strips (values, picking, normalisation), labels of
 * collapsed blocks and enlarged maps, the prediction line, and the blocks a focus opens.
 */
import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import type { LayerFrame, ModelSummary } from '../../common/engine-protocol';
import { predictionLine } from '../../renderer/src/explorer/scene';
import { effectiveNormalize, vectorBytes } from '../../renderer/src/explorer/scene/colormaps';
import { labelText } from '../../renderer/src/explorer/scene/labels';
import { blocksToOpen, computeLayout } from '../../renderer/src/explorer/scene/layout';
import { pickBlock } from '../../renderer/src/explorer/scene/picking';
import { getZooGraph } from '../../renderer/src/zoo';
import { DataTexture } from 'three';
import { ModelView } from '../../renderer/src/explorer/scene/model-view';
import { THEMES } from '../../renderer/src/explorer/scene/theme';

function zoo(id: string): ModelSummary {
  const analysis = analyzeGraph(getZooGraph(id));
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

describe('vector layers', () => {
  it('are strips whose bytes quantize the values over the layer’s range', () => {
    // Five 1×1 channels: channel c holds byte b_c of its own range [min_c, max_c].
    const frame: Pick<LayerFrame, 'min' | 'max' | 'data'> = {
      min: Float32Array.from([0, -1, 2, 0, 0]),
      max: Float32Array.from([1, 1, 2, 4, 0]),
      data: Uint8Array.from([255, 0, 7, 51, 0]),
    };
    // By hand: 1, −1, 2 (min = max), 4·51/255 = 0.8, 0.
    const v = [1, -1, 2, 0.8, 0];
    const { bytes, min, max } = vectorBytes(frame);
    expect(min).toBe(-1);
    expect(max).toBe(2);
    expect(Array.from(bytes)).toEqual(v.map((x) => Math.round(((x + 1) / 3) * 255)));
  });

  it('normalise per layer whatever the choice; spatial maps follow it', () => {
    expect(effectiveNormalize([1, 1, 1000], 'channel').normalize).toBe('layer');
    expect(effectiveNormalize([1000], 'channel').normalize).toBe('layer');
    expect(effectiveNormalize([7, 7, 512], 'channel').normalize).toBe('channel');
    expect(effectiveNormalize([7, 7, 512], 'layer').normalize).toBe('layer');
  });

  it('pick the value under the pointer along the strip', () => {
    const layout = computeLayout(zoo('alexnet'));
    const strip = layout.blocks.find((b) => b.vector && b.shape[2] === 1000)!;
    expect(strip.kind).toBe('dense');
    expect(strip.tiles).toBe(1);
    const left = strip.x - strip.width / 2;
    // A ray straight at value 250 of 1000: a quarter of the way along.
    const u = ((250 + 0.5) / 1000) * strip.width;
    const hit = pickBlock([left + u, strip.y, 100], [0, 0, -1], strip)!;
    expect(hit).toMatchObject({ layerId: strip.id, channel: 250, x: 0, y: 0 });
    expect(pickBlock([left - 1, strip.y, 100], [0, 0, -1], strip)).toBeNull();
  });
});

describe('labels', () => {
  it('a collapsed block says what it is, its output, params and MACs; an enlarged map says so', () => {
    const s = zoo('resnet50');
    const layout = computeLayout(s);
    const item = layout.blocks.find((b) => b.group?.name === 'conv3_block2')!;
    const members = layout.tree.byId
      .get(item.group!.id)!
      .layers.map((id) => s.analysis.layers.find((l) => l.id === id)!);
    const macs = members.reduce((n, l) => n + l.macs, 0);
    // By hand: 28² · (512·128 + 9·128·128 + 128·512) multiply-adds = 218.4 M.
    expect(macs).toBe(28 * 28 * (512 * 128 + 9 * 128 * 128 + 128 * 512));
    const text = labelText(item);
    expect(text.title).toBe('conv3_block2 ▸');
    expect(text.detail).toContain('residual block');
    expect(text.detail).toContain('28×28×512');
    expect(text.detail).toContain('218.4M MACs');
    const small = layout.blocks.find((b) => !b.vector && b.shape[0] === 7)!;
    expect(small.scale).toBeGreaterThan(1);
    expect(labelText(small).detail).toContain(`drawn ×${small.scale.toFixed(1)}`);
  });

  it('the output layer’s prediction reads as the top classes with their probability', () => {
    expect(
      predictionLine({
        layerId: 'predictions',
        top: [
          { index: 1, label: 'tabby', probability: 0.6234 },
          { index: 2, label: 'tiger cat', probability: 0.2 },
          { index: 3, label: 'lynx', probability: 0.05 },
          { index: 4, label: 'egyptian cat', probability: 0.01 },
        ],
        softmaxApplied: false,
        classes: 1000,
      }),
    ).toBe('tabby 62.3% · tiger cat 20.0% · lynx 5.0%');
  });
});

describe('stepping into blocks', () => {
  it('opens the nested blocks around a layer, outermost first, and nothing for a layer already drawn', () => {
    const layout = computeLayout(zoo('densenet121'));
    const open = blocksToOpen(layout.tree, layout.expanded, 'conv3_block4_1_conv');
    expect(open.map((id) => layout.tree.byId.get(id)!.kind)).toEqual(['dense-block', 'dense-layer']);
    const opened = computeLayout(zoo('densenet121'), { expanded: new Set(open), tree: layout.tree });
    expect(opened.byId.get('conv3_block4_1_conv')).toBeDefined();
    expect(blocksToOpen(opened.tree, opened.expanded, 'conv3_block4_1_conv')).toEqual([]);
  });
});

describe('opening a block in the model view', () => {
  it('moves the items that stay and uploads only those that appear; closing it frees them again', () => {
    const s = zoo('resnet50');
    const closed = computeLayout(s, { collapseAbove: 0 });
    const lut = (): DataTexture => new DataTexture(new Uint8Array(1024), 256, 1);
    const view = new ModelView(closed, {
      luts: { viridis: lut(), diverging: lut() },
      limits: { maxLayers: 2048, maxSize: 4096 },
      colors: THEMES.light,
      colorMap: 'auto',
      normalize: 'channel',
    });
    // A frame for every layer (one byte per value, as the engine sends them).
    for (const l of s.analysis.layers) {
      if (l.kind === 'input') continue;
      const [h, w, c] = l.outputShape.length === 3 ? l.outputShape : [1, 1, l.outputShape[0]];
      view.addFrame({
        layerId: l.id,
        index: 0,
        shape: [h, w, c],
        fullShape: [h, w, c],
        min: new Float32Array(c),
        max: new Float32Array(c).fill(1),
        data: new Uint8Array(h * w * c),
      });
    }
    const items = closed.blocks.length;
    expect(view.layerCount).toBe(items);
    const stem = view.layer('conv1_conv')!.texture;
    const block = closed.tree.blocks.find((b) => b.name === 'conv3_block2')!;
    const open = computeLayout(s, { expanded: new Set([block.id]), tree: closed.tree });
    view.applyLayout(open);
    // The block's layers replace its one item; every other item keeps its texture.
    expect(view.layerCount).toBe(items - 1 + block.layers.length);
    expect(view.layer('conv1_conv')!.texture).toBe(stem);
    expect(view.layer('conv3_block2_2_conv')).toBeDefined();
    view.applyLayout(computeLayout(s, { expanded: new Set(), tree: closed.tree }));
    expect(view.layerCount).toBe(items);
    expect(view.ledger.count('texture')).toBe(items);
    expect(view.layer('conv1_conv')!.texture).toBe(stem);
    view.dispose();
  });
});
