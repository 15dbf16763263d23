import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import type { LayerAnalysis, ModelAnalysis } from '../../common/analysis-types';
import { getZooGraph } from '../../renderer/src/zoo';
import {
  alignIndex,
  alignStages,
  layoutModel,
  stageFraction,
  stageKeyOf,
  weightedPathDepth,
  type ModelLayout,
} from '../../renderer/src/explorer/compare/alignment';

const vgg = analyzeGraph(getZooGraph('vgg16'));
const resnet = analyzeGraph(getZooGraph('resnet50'));
const bands = alignStages([
  { key: 'vgg16', analysis: vgg },
  { key: 'resnet50', analysis: resnet },
]);
const band = (fraction: string) => {
  const b = bands.find((x) => x.fraction === fraction);
  if (!b) throw new Error(`no stage ${fraction}`);
  return { vgg: b.members[0], resnet: b.members[1] };
};
const vggL = layoutModel({ key: 'vgg16', analysis: vgg });
const resL = layoutModel({ key: 'resnet50', analysis: resnet });
/** The layer of `to` that lines up with layer `id` of `from`. */
const lineUp = (from: ModelLayout, id: string, to: ModelLayout, mode: 'stage' | 'depth') => {
  const i = from.indexOf.get(id);
  if (i === undefined) throw new Error(`no layer ${id} in ${from.key}`);
  const j = alignIndex(from, i, to, mode);
  return j === null ? null : to.order[j];
};
/** Parameters of a 3×3 'same' conv with bias, the lecture's K·K·C_in·C_out + C_out. */
const conv3 = (cin: number, cout: number) => 3 * 3 * cin * cout + cout;

describe('stage alignment, VGG-16 vs ResNet-50 at 224×224', () => {
  it('finds the same stages in both: 224, 112, 56, 28, 14, 7 and the head', () => {
    expect(bands.map((b) => b.fraction)).toEqual(['1/1', '1/2', '1/4', '1/8', '1/16', '1/32', 'head']);
    for (const b of bands.slice(0, 6)) {
      const side = 224 / 2 ** (b.stage as number);
      expect(b.members.map((m) => m.resolution)).toEqual([
        [side, side],
        [side, side],
      ]);
    }
    expect(band('head').vgg.resolution).toBeNull();
  });

  it('puts each VGG block in the stage of its output resolution (a pool opens the next stage)', () => {
    expect(band('1/1').vgg.layerIds).toEqual(['input_1', 'block1_conv1', 'block1_conv2']);
    expect(band('1/2').vgg.layerIds).toEqual(['block1_pool', 'block2_conv1', 'block2_conv2']);
    expect(band('1/8').vgg.layerIds).toEqual(['block3_pool', 'block4_conv1', 'block4_conv2', 'block4_conv3']);
    expect(band('1/32').vgg.layerIds).toEqual(['block5_pool']);
    expect(band('head').vgg.layerIds).toEqual(['flatten', 'fc1', 'fc2', 'predictions']);
  });

  it("keeps ResNet's padded maps with their stage and its stride-2 blocks with the stage they produce", () => {
    // conv1_pad is 230×230 and pool1_pad 114×114: padding does not start a stage.
    expect(band('1/1').resnet.layerIds).toEqual(['input_1', 'conv1_pad']);
    expect(band('1/2').resnet.layerIds).toEqual(['conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad']);
    const s8 = band('1/8').resnet.layerIds;
    expect(s8[0]).toBe('conv3_block1_0_conv');
    expect(s8[s8.length - 1]).toBe('conv3_block4_out');
    expect(s8.filter((id) => id.endsWith('_conv'))).toHaveLength(13); // 4 blocks × 3 convs + the projection
    expect(band('1/32').resnet.layerIds.at(-1)).toBe('conv5_block3_out');
    expect(band('head').resnet.layerIds).toEqual(['avg_pool', 'predictions']);
  });

  it('sums parameters per stage from the analysis, and the stages add up to the totals', () => {
    expect(band('1/8').vgg.params).toBe(conv3(256, 512) + 2 * conv3(512, 512));
    expect(band('1/8').vgg.weightedLayers).toBe(3);
    expect(band('1/16').vgg.params).toBe(3 * conv3(512, 512));
    expect(band('head').vgg.params).toBe(7 * 7 * 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000);
    // ResNet-50's 1/2 stage: the 7×7 stem conv (with bias) and its BN (4 × 64, two of them moving statistics).
    expect(band('1/2').resnet.params).toBe(7 * 7 * 3 * 64 + 64 + 4 * 64);
    for (const [i, a] of [vgg, resnet].entries()) {
      expect(bands.reduce((s, b) => s + b.members[i].params, 0)).toBe(a.totals.params);
      expect(bands.reduce((s, b) => s + b.members[i].macs, 0)).toBe(a.totals.macs);
      expect(bands.reduce((s, b) => s + b.members[i].weightedLayers, 0)).toBe(a.totals.depth);
    }
  });

  it('lines up stage outputs with each other when stepping by stage', () => {
    expect(lineUp(vggL, 'block3_conv3', resL, 'stage')).toBe('conv2_block3_out');
    expect(lineUp(vggL, 'block4_conv3', resL, 'stage')).toBe('conv3_block4_out');
    expect(lineUp(vggL, 'block5_conv3', resL, 'stage')).toBe('conv4_block6_out');
    expect(lineUp(vggL, 'block5_pool', resL, 'stage')).toBe('conv5_block3_out');
    expect(lineUp(vggL, 'predictions', resL, 'stage')).toBe('predictions');
    // The first layer of a stage maps to the start of the other model's stage, not its end.
    expect(lineUp(resL, 'conv3_block1_0_conv', vggL, 'stage')).toBe('block3_pool');
    expect(lineUp(resL, 'conv1_conv', vggL, 'stage')).toBe('block1_pool');
    // 1 of VGG's 4 layers at 1/16 → the 16th of ResNet's 62 there (⌈62/4⌉).
    expect(band('1/16').resnet.layerIds).toHaveLength(62);
    expect(lineUp(vggL, 'block4_pool', resL, 'stage')).toBe(band('1/16').resnet.layerIds[15]);
    // Whatever the position, stepping by stage never leaves the stage.
    for (const id of vggL.order) {
      const target = lineUp(vggL, id, resL, 'stage')!;
      expect(resL.stage[resL.indexOf.get(target)!]).toBe(vggL.stage[vggL.indexOf.get(id)!]);
    }
  });

  it('measures depth along the longest weighted path: 16 for VGG-16, 50 for ResNet-50', () => {
    expect(vggL.maxDepth).toBe(16);
    expect(resL.maxDepth).toBe(50);
    // The analysis counts every layer with weights (ResNet's 4 projection shortcuts too).
    expect(resnet.totals.depth).toBe(54);
    const d = weightedPathDepth(resnet);
    expect(d.get('conv2_block1_0_conv')).toBe(2); // beside the main path: stem conv + itself
    expect(d.get('conv2_block1_add')).toBe(4); // the main path's three convs win
  });

  it('lines up layers at the same relative depth when stepping by depth', () => {
    // VGG's 7th of 16 weighted layers (7/16 = 0.4375) → ResNet's 22nd of 50 (0.44): a weighted layer for a weighted one.
    expect(lineUp(vggL, 'block3_conv3', resL, 'depth')).toBe('conv3_block4_3_conv');
    expect(resL.depth[resL.indexOf.get('conv3_block4_3_conv')!]).toBe(22);
    // A pooling layer after VGG's 13th conv (13/16) → the last layer at ResNet depth 41 (a block output).
    const pooled = lineUp(vggL, 'block5_pool', resL, 'depth')!;
    expect(resL.depth[resL.indexOf.get(pooled)!]).toBe(41);
    expect(pooled).toBe('conv5_block1_1_relu');
    expect(lineUp(vggL, 'predictions', resL, 'depth')).toBe('predictions');
    expect(lineUp(resL, 'predictions', vggL, 'depth')).toBe('predictions');
    expect(lineUp(vggL, 'input_1', resL, 'depth')).toBe('conv1_pad');
    // Monotone: stepping forward in VGG never moves ResNet backwards.
    let last = -1;
    for (let i = 0; i < vggL.order.length; i++) {
      const j = alignIndex(vggL, i, resL, 'depth')!;
      expect(j).toBeGreaterThanOrEqual(last);
      last = j;
    }
  });

  it('does not follow when linking is off, and maps a model onto itself unchanged', () => {
    expect(alignIndex(vggL, 3, resL, 'off')).toBeNull();
    expect(alignIndex(vggL, 99, resL, 'stage')).toBeNull();
    expect(alignIndex(vggL, 5, vggL, 'depth')).toBe(5);
  });
});

describe('stage alignment across input sizes and missing stages', () => {
  it('aligns Inception-v3 at 299 by halvings: 149 and 147 at 1/2, 35 at 1/8, 17 at 1/16, 8 at 1/32', () => {
    const input = [299, 299, 3];
    const at = (h: number) => stageKeyOf({ outputShape: [h, h, 32] }, input);
    expect([at(299), at(149), at(147), at(73), at(71), at(35), at(17), at(8)]).toEqual([0, 1, 1, 2, 2, 3, 4, 5]);
    expect(stageKeyOf({ outputShape: [2048] }, input)).toBe('head');
    // A 1×1 map (global pooling with keepdims) is a vector, not a stage at 1/256.
    expect(stageKeyOf({ outputShape: [1, 1, 2048] }, input)).toBe('head');
    expect([0, 3, 5, 'head' as const].map(stageFraction)).toEqual(['1/1', '1/8', '1/32', 'head']);
  });

  it("maps ResNet's 1/2 stage into AlexNet, which has none (stride-4 first conv), at the deeper neighbour", () => {
    const alex = analyzeGraph(getZooGraph('alexnet'));
    const alexL = layoutModel({ key: 'alexnet', analysis: alex });
    expect(alexL.stages.has('1')).toBe(false);
    const target = lineUp(resL, 'conv1_conv', alexL, 'stage')!;
    expect(alexL.stage[alexL.indexOf.get(target)!]).toBe(2);
  });

  it('rejects a frame order naming a layer the analysis lacks, naming the model and layer', () => {
    expect(() => layoutModel({ key: 'vgg16', analysis: vgg, frameOrder: ['input_1', 'nope'] })).toThrow(
      'model vgg16: layer "nope" is in the frame order but not in the analysis',
    );
  });

  it('uses the frame order for stepping positions but every analysed layer for the sums', () => {
    const order = vgg.layers.filter((l: LayerAnalysis) => l.kind !== 'flatten').map((l) => l.id);
    const [b] = alignStages([{ key: 'v', analysis: vgg, frameOrder: order }]).filter((x) => x.fraction === 'head');
    expect(b.members[0].layerIds).toEqual(['fc1', 'fc2', 'predictions']);
    expect(b.members[0].layers).toBe(4);
  });

  it('handles a model without a head (fully convolutional) when the source is in its head', () => {
    const fcn: ModelAnalysis = { ...vgg, layers: vgg.layers.filter((l) => l.outputShape.length === 3) };
    const fcnL = layoutModel({ key: 'fcn', analysis: fcn });
    expect(fcnL.order[alignIndex(resL, resL.indexOf.get('predictions')!, fcnL, 'stage')!]).toBe('block5_pool');
  });
});
