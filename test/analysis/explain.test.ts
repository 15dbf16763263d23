import { describe, expect, it } from 'vitest';
import { analyzeGraph, CONVENTIONS, explainLayer, type Explanation } from '../../renderer/src/analysis';
import { GraphBuilder, getZooGraph, ZOO_IDS } from '../../renderer/src/zoo';

const vgg = analyzeGraph(getZooGraph('vgg16'));
const find = (list: Explanation[], title: string) => {
  const e = list.find((x) => x.title === title);
  if (!e) throw new Error(`no "${title}" in ${list.map((x) => x.title).join(', ')}`);
  return e;
};

describe('explainLayer', () => {
  it("conv: output size, parameters and MACs in the lecture's formulas with the values filled in", () => {
    const ex = explainLayer(vgg, 'block2_conv1');
    expect(find(ex, 'Output size')).toMatchObject({
      formula: 'O = (I + 2P − K)/S + 1',
      substituted: '(112 + 2·1 − 3)/1 + 1 = 112',
      result: '112 × 112 × 128',
    });
    expect(find(ex, 'Parameters')).toMatchObject({
      formula: 'K·K·C_in·C_out + C_out',
      substituted: '3·3·64·128 + 128',
      result: '73,856 (73,728 weights + 128 biases)',
    });
    expect(find(ex, 'Multiply-accumulates')).toMatchObject({
      substituted: '112·112·3·3·64·128',
      result: expect.stringMatching(/^924,844,032 MACs/),
    });
    expect(find(ex, 'Receptive field')).toMatchObject({
      substituted: 'r = 6 + (3 − 1)·2 = 10; j = 2·1 = 2; start = 0.5 + (1 − 1)·2 = 0.5',
    });
  });

  it('strided pool: the formula with the rounding down noted; stride-2 "same" padding resolved', () => {
    const inc = analyzeGraph(getZooGraph('inceptionv3'));
    const pool = find(explainLayer(inc, 'max_pooling2d_1'), 'Output size');
    expect(pool.substituted).toBe('(147 + 2·0 − 3)/2 + 1 = 73');
    expect(pool.note).toBeUndefined(); // (147 − 3)/2 is exact: nothing is dropped
    // AlexNet conv1: (224 + 4 − 11)/4 = 54.25, the last partial window is dropped. The ZeroPadding2D before it
    // is folded in as P, as the lecture writes it.
    const alex = analyzeGraph(getZooGraph('alexnet'));
    const conv1 = explainLayer(alex, 'conv1');
    expect(find(conv1, 'Output size')).toMatchObject({
      substituted: '(224 + 2·2 − 11)/4 + 1 = 55',
      note: expect.stringMatching(/P comes from the ZeroPadding2D layer "conv1_pad".*rounds down/),
    });
    expect(find(conv1, 'Receptive field').substituted).toBe(
      'r = 1 + (11 − 1)·1 = 11; j = 1·4 = 4; start = 0 + (5 − 2)·1 = 3',
    );
    const resnet = analyzeGraph(getZooGraph('resnet50'));
    expect(find(explainLayer(resnet, 'conv1_conv'), 'Output size').substituted).toBe('(224 + 2·3 − 7)/2 + 1 = 112');
    expect(find(explainLayer(resnet, 'pool1_pool'), 'Output size').substituted).toBe('(112 + 2·1 − 3)/2 + 1 = 56');
    const mobile = analyzeGraph(getZooGraph('mobilenetv2'));
    expect(find(explainLayer(mobile, 'block_1_depthwise'), 'Output size').substituted).toBe(
      '(112 + 0 + 1 − 3)/2 + 1 = 56',
    );
    const res = analyzeGraph(getZooGraph('googlenet'));
    const p1 = find(explainLayer(res, 'pool1'), 'Output size');
    expect(p1.formula).toBe('O = (I + P_before + P_after − K)/S + 1');
    expect(p1.substituted).toBe('(112 + 0 + 1 − 3)/2 + 1 = 56');
    expect(p1.note).toContain("Padding 'same' resolves");
  });

  it("a 1×1 bottleneck's saving against the 3×3 it replaces (GoogLeNet inception3a)", () => {
    const g = analyzeGraph(getZooGraph('googlenet'));
    const b = find(explainLayer(g, 'inception3a_3x3_reduce_conv'), '1×1 bottleneck vs a direct 3×3');
    expect(b.substituted).toBe('1·1·192·96 + 3·3·96·128 = 129,024  vs  3·3·192·128 = 221,184');
    expect(b.result).toBe('saves 92,160 weights (41.7%); 1.7× fewer');
    // The 3×3 it feeds explains the same saving.
    expect(find(explainLayer(g, 'inception3a_3x3_conv'), '1×1 bottleneck vs a direct 3×3').substituted).toBe(
      b.substituted,
    );
    // ResNet's bottleneck: 256 → 64 → 3×3 64.
    const r = analyzeGraph(getZooGraph('resnet50'));
    expect(find(explainLayer(r, 'conv2_block2_1_conv'), '1×1 bottleneck vs a direct 3×3').substituted).toBe(
      '1·1·256·64 + 3·3·64·64 = 53,248  vs  3·3·256·64 = 147,456',
    );
  });

  it('why a dense layer after a conv stack is large (VGG fc1) — and why GAP keeps it small', () => {
    const why = find(explainLayer(vgg, 'fc1'), 'Why this dense layer is large');
    expect(why.substituted).toBe('N_in = 7·7·512 = 25,088;  25,088·4,096 = 102,760,448');
    expect(why.result).toBe("74.3% of the model's 138,357,544 parameters");
    expect(why.note).toContain('Dense layers hold 89.4% of this model, conv layers 10.6%');
    expect(find(explainLayer(vgg, 'fc1'), 'Parameters').substituted).toBe('25,088·4,096 + 4,096');
    const r = analyzeGraph(getZooGraph('resnet50'));
    expect(find(explainLayer(r, 'predictions'), 'Why this dense layer is small').substituted).toBe(
      'N_in = 2048 instead of 7·7·2048 = 100,352',
    );
    // AlexNet's fc6 sits behind a dropout after the flatten.
    const alex = analyzeGraph(getZooGraph('alexnet'));
    expect(find(explainLayer(alex, 'fc6'), 'Why this dense layer is large').substituted).toBe(
      'N_in = 6·6·256 = 9,216;  9,216·4,096 = 37,748,736',
    );
  });

  it('batch norm states both parameter conventions; depthwise shows the separable saving', () => {
    const m = analyzeGraph(getZooGraph('mobilenetv2'));
    const bn = find(explainLayer(m, 'bn_Conv1'), 'Parameters');
    expect(bn.substituted).toBe('4·32');
    expect(bn.result).toBe('128 (64 trainable + 64 non-trainable)');
    expect(bn.note).toMatch(/Keras counts .* PyTorch/);
    const inc = analyzeGraph(getZooGraph('inceptionv3'));
    expect(find(explainLayer(inc, 'batch_normalization_1'), 'Parameters').substituted).toBe('3·32'); // scale=False: no gamma
    const dw = explainLayer(m, 'block_1_depthwise');
    expect(find(dw, 'Parameters')).toMatchObject({
      formula: 'K·K·C_in·M',
      substituted: '3·3·96·1',
      result: '864 (864 weights, no bias)',
    });
    expect(find(dw, 'Depthwise-separable saving')).toMatchObject({
      substituted: '3·3·96 + 96·24 = 3,168  vs  3·3·96·24 = 20,736',
      result: '6.5× fewer weights than one full 3×3 conv to 24 channels',
    });
  });

  it("merges: channel sums and every path's field", () => {
    const g = analyzeGraph(getZooGraph('googlenet'));
    const ex = explainLayer(g, 'inception3a');
    expect(find(ex, 'Output size').substituted).toBe('64 + 128 + 32 + 32 = 256');
    expect(find(ex, 'Receptive field').note).toMatch(
      /paths from the input reach this layer with different fields \(sizes 27, 43\)/,
    );
    const r = analyzeGraph(getZooGraph('resnet50'));
    expect(find(explainLayer(r, 'conv2_block1_add'), 'Output size').substituted).toBe('56 × 56 × 256 + 56 × 56 × 256');
  });

  it('other kinds, unknown ids, and plain text only', () => {
    expect(find(explainLayer(vgg, 'flatten'), 'Output size').substituted).toBe('7·7·512 = 25,088');
    expect(find(explainLayer(vgg, 'input_1'), 'Input').substituted).toBe('224 × 224 × 3');
    const r = analyzeGraph(getZooGraph('resnet50'));
    expect(find(explainLayer(r, 'conv1_pad'), 'Output size').substituted).toBe('224 + 3 + 3 = 230');
    expect(find(explainLayer(r, 'avg_pool'), 'Output size').substituted).toBe('7 × 7 × 2048 → 2048');
    expect(explainLayer(vgg, 'no_such_layer')).toEqual([]);
    const b = new GraphBuilder('dil');
    const x = b.input('in', [20, 20, 2]);
    const d = b.conv('d', x, 2, 3, { dilation: 3 });
    const dil = explainLayer(analyzeGraph(b.build([d])), 'd');
    expect(find(dil, 'Output size').substituted).toBe('(20 + 2·0 − 3·(3 − 1) − 1)/1 + 1 = 14');
    expect(find(dil, 'Receptive field').substituted).toContain('r = 1 + (7 − 1)·1 = 7');
    for (const id of ZOO_IDS) {
      const a = analyzeGraph(getZooGraph(id));
      for (const l of a.layers) {
        for (const e of explainLayer(a, l.id)) {
          for (const s of [e.title, e.formula, e.substituted, e.result, e.note ?? '']) {
            expect(s).not.toMatch(/<[a-z]|undefined|NaN/);
          }
        }
      }
    }
  });

  it('states the conventions once for the UI and the CLI', () => {
    expect(CONVENTIONS).toMatch(/Keras/);
    expect(CONVENTIONS).toMatch(/PyTorch/);
    expect(CONVENTIONS).toMatch(/2 × MACs/);
    expect(CONVENTIONS).toMatch(/conv, depthwise, separable and dense layers only/);
  });
});
