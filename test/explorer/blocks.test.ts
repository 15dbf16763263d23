/**
 * Block recognition on the zoo's graphs, checked against torchvision's own module classes (the oracle
 * `oracle/torchvision_blocks.py` counts Inception, Bottleneck, _DenseLayer, _DenseBlock, _Transition and
 * InvertedResidual modules and their parameters), and on a Teachable Machine-shaped nested model.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { blocksAround, recognizeBlocks, type BlockTree, type LayerBlock } from '../../renderer/src/analysis/blocks';
import type { LayerAnalysis, ModelAnalysis } from '../../common/analysis-types';
import { getZooGraph, type GraphNode, type ModelGraph } from '../../renderer/src/zoo';

interface Oracle {
  googlenet: { inception: number[] };
  resnet50: { bottleneck: number[]; projection: boolean[] };
  densenet121: { denseLayer: number[]; denseBlock: number[]; transition: number[] };
  mobilenetv2: { inverted: number[]; residual: boolean[] };
}

let oracle: Oracle;
beforeAll(() => {
  const out = execFileSync('/usr/bin/python3', [resolve(__dirname, 'oracle/torchvision_blocks.py')], {
    encoding: 'utf8',
  });
  oracle = JSON.parse(out) as Oracle;
}, 60_000);

const analyses = new Map<string, ModelAnalysis>();
function zoo(id: string): { analysis: ModelAnalysis; tree: BlockTree } {
  let a = analyses.get(id);
  if (!a) analyses.set(id, (a = analyzeGraph(getZooGraph(id))));
  return { analysis: a, tree: recognizeBlocks(a.layers) };
}

/** PyTorch's parameter count of a block's layers: trainable parameters, i.e. without BN running statistics. */
function torchParams(b: LayerBlock, layers: Map<string, LayerAnalysis>, opts: { convBias?: boolean } = {}): number {
  let n = 0;
  for (const id of b.layers) {
    const l = layers.get(id)!;
    // torchvision's ResNet convs have no bias (bias=False); the Keras ResNet50 the zoo follows has one.
    if (opts.convBias === false && l.kind === 'conv') n += l.params.weights;
    else n += l.params.trainable;
  }
  return n;
}

/** Blocks of one kind in model order (by their output layer). */
function ofKind(a: ModelAnalysis, tree: BlockTree, kind: LayerBlock['kind']): LayerBlock[] {
  const rank = new Map(a.layers.map((l, i) => [l.id, i]));
  return tree.blocks.filter((b) => b.kind === kind).sort((x, y) => rank.get(x.output)! - rank.get(y.output)!);
}

describe('block recognition on the zoo (torchvision modules as the oracle)', () => {
  it('GoogLeNet: 9 Inception modules of four parallel branches, sized as torchvision’s', () => {
    const { analysis, tree } = zoo('googlenet');
    const byId = new Map(analysis.layers.map((l) => [l.id, l]));
    const modules = ofKind(analysis, tree, 'inception');
    expect(modules.length).toBe(oracle.googlenet.inception.length);
    expect(modules.length).toBe(9);
    expect(modules.map((m) => m.name)).toEqual([
      'inception3a',
      'inception3b',
      'inception4a',
      'inception4b',
      'inception4c',
      'inception4d',
      'inception4e',
      'inception5a',
      'inception5b',
    ]);
    for (const [k, m] of modules.entries()) {
      expect(m.parent).toBeNull();
      expect(m.branches).toHaveLength(4);
      expect(m.merge).toBe(m.name);
      expect(byId.get(m.merge!)!.kind).toBe('concat');
      expect(torchParams(m, byId)).toBe(oracle.googlenet.inception[k]);
    }
    // The module's entry is the layer feeding all four branches: the pool before 3a, the previous module after.
    expect(modules[0].entry).toBe('pool2');
    expect(modules[1].entry).toBe('inception3a');
    const lengths = modules[0].branches!.map((b) => b.length).sort((a, b) => a - b);
    expect(lengths).toEqual([3, 4, 6, 6]); // 1×1 (conv+bn+relu); pool + 1×1; reduce + 3×3; reduce + "5×5"
  });

  it('InceptionV3: 11 modules (mixed0–mixed10), the split 1×3 / 3×1 merges inside mixed9 and mixed10', () => {
    const { tree } = zoo('inceptionv3');
    const modules = tree.blocks.filter((b) => b.kind === 'inception');
    expect(modules.map((m) => m.name).sort()).toEqual(
      [
        'mixed0',
        'mixed1',
        'mixed2',
        'mixed3',
        'mixed4',
        'mixed5',
        'mixed6',
        'mixed7',
        'mixed8',
        'mixed9',
        'mixed10',
      ].sort(),
    );
    const inner = tree.blocks.filter((b) => b.kind === 'branches');
    expect(inner.map((b) => b.merge).sort()).toEqual(['concatenate_1', 'concatenate_2', 'mixed9_0', 'mixed9_1']);
    for (const b of inner) expect(['inception:mixed9', 'inception:mixed10']).toContain(b.parent);
  });

  it('ResNet-50: 16 bottleneck blocks, projection shortcuts exactly where torchvision has a downsample', () => {
    const { analysis, tree } = zoo('resnet50');
    const byId = new Map(analysis.layers.map((l) => [l.id, l]));
    const blocks = ofKind(analysis, tree, 'residual');
    expect(blocks.length).toBe(oracle.resnet50.bottleneck.length);
    expect(blocks.length).toBe(16);
    expect(blocks.every((b) => b.bottleneck)).toBe(true);
    expect(blocks.map((b) => b.shortcut!.length > 0)).toEqual(oracle.resnet50.projection);
    for (const [k, b] of blocks.entries()) {
      expect(byId.get(b.merge!)!.kind).toBe('add');
      // The Keras ResNet50 the zoo follows has conv biases; torchvision's has none: compare kernels + BN.
      expect(torchParams(b, byId, { convBias: false })).toBe(oracle.resnet50.bottleneck[k]);
      if (b.shortcut!.length) expect(b.shortcut!.map((id) => byId.get(id)!.kind)).toEqual(['conv', 'norm']);
    }
    expect(blocks[0].name).toBe('conv2_block1');
    expect(blocks[0].entry).toBe('pool1_pool');
    expect(blocks[1].entry).toBe('conv2_block1_out');
    expect(blocks[0].output).toBe('conv2_block1_out');
  });

  it('DenseNet-121: 58 dense layers in 4 dense blocks (6, 12, 24, 16) and 3 transitions, sized as torchvision’s', () => {
    const { analysis, tree } = zoo('densenet121');
    const byId = new Map(analysis.layers.map((l) => [l.id, l]));
    const dense = ofKind(analysis, tree, 'dense-layer');
    const blocks = ofKind(analysis, tree, 'dense-block');
    const transitions = ofKind(analysis, tree, 'transition');
    expect(dense.length).toBe(58);
    expect(dense.map((d) => torchParams(d, byId))).toEqual(oracle.densenet121.denseLayer);
    expect(blocks.map((b) => b.children.length)).toEqual(oracle.densenet121.denseBlock);
    expect(blocks.map((b) => b.children.length)).toEqual([6, 12, 24, 16]);
    for (const b of blocks) for (const c of b.children) expect(tree.byId.get(c)!.kind).toBe('dense-layer');
    expect(transitions.map((t) => torchParams(t, byId))).toEqual(oracle.densenet121.transition);
    expect(transitions.length).toBe(3);
    // Each transition sits between two dense blocks and shrinks the channels (θ = 0.5) and the map (2×2 pool).
    for (const [k, t] of transitions.entries()) {
      expect(t.entry).toBe(blocks[k].output);
      expect(blocks[k + 1].entry).toBe(t.output);
      const cin = byId.get(t.entry!)!.outputShape;
      const cout = byId.get(t.output)!.outputShape;
      expect(cout[2]).toBe(cin[2] / 2);
      expect(cout[0]).toBe(Math.floor(cin[0] / 2));
    }
    // A dense layer concatenates its entry with the 32 new maps it computes.
    const first = dense[0];
    expect(first.branches!.some((b) => b.length === 0)).toBe(true);
    expect(byId.get(first.merge!)!.inputs).toEqual(['pool1', 'conv2_block1_2_conv']);
  });

  it('MobileNetV2: 17 inverted-residual blocks, the 10 with a residual add where torchvision uses one', () => {
    const { analysis, tree } = zoo('mobilenetv2');
    const byId = new Map(analysis.layers.map((l) => [l.id, l]));
    const blocks = ofKind(analysis, tree, 'inverted-residual');
    expect(blocks.length).toBe(oracle.mobilenetv2.inverted.length);
    expect(blocks.length).toBe(17);
    expect(blocks.map((b) => b.merge !== undefined)).toEqual(oracle.mobilenetv2.residual);
    expect(blocks.map((b) => torchParams(b, byId))).toEqual(oracle.mobilenetv2.inverted);
    expect(tree.blocks.filter((b) => b.kind === 'residual')).toEqual([]);
  });

  it('AlexNet and VGG-16 are plain chains: no blocks', () => {
    expect(zoo('alexnet').tree.blocks).toEqual([]);
    expect(zoo('vgg16').tree.blocks).toEqual([]);
  });
});

describe('nested models', () => {
  /** Teachable Machine's layout (see test/formats/tfjs-layers.test.ts): Sequential[Sequential[backbone, GAP], Sequential[Dense, Dense]]. */
  function teachableMachine(): ModelGraph {
    const base = getZooGraph('mobilenetv2');
    const cut = base.nodes.findIndex((n) => n.name === 'out_relu');
    const backbone: GraphNode[] = base.nodes
      .slice(0, cut + 1)
      .map((n) => ({ ...n, scope: ['sequential_1', 'model1'] }) as GraphNode);
    return {
      name: 'sequential_4',
      outputs: ['dense_Dense2'],
      nodes: [
        ...backbone,
        {
          op: 'gap',
          name: 'global_average_pooling2d_GlobalAveragePooling2D1',
          inputs: ['out_relu'],
          scope: ['sequential_1'],
        },
        {
          op: 'dense',
          name: 'dense_Dense1',
          inputs: ['global_average_pooling2d_GlobalAveragePooling2D1'],
          units: 100,
          useBias: true,
          activation: 'relu',
          scope: ['sequential_3'],
        },
        {
          op: 'dense',
          name: 'dense_Dense2',
          inputs: ['dense_Dense1'],
          units: 3,
          useBias: true,
          activation: 'softmax',
          scope: ['sequential_3'],
        },
      ] as GraphNode[],
    };
  }

  it('a Teachable Machine model: its nested MobileNet is one block holding the 17 inverted-residual blocks', () => {
    const a = analyzeGraph(teachableMachine());
    const tree = recognizeBlocks(a.layers);
    const model1 = tree.byId.get('nested:model1')!;
    expect(model1).toBeDefined();
    expect(model1.kind).toBe('nested');
    const backbone = a.layers.filter((l) => l.scope?.join('/') === 'sequential_1/model1').map((l) => l.id);
    expect(model1.layers).toEqual(backbone);
    expect(model1.output).toBe('out_relu');
    expect(model1.parent).toBe('nested:sequential_1');
    expect(model1.children.map((c) => tree.byId.get(c)!.kind)).toEqual(Array(17).fill('inverted-residual'));
    expect(tree.roots).toEqual(['nested:sequential_1', 'nested:sequential_3']);
    expect(blocksAround(tree, 'block_5_depthwise').map((b) => b.kind)).toEqual([
      'inverted-residual',
      'nested',
      'nested',
    ]);
    const total = backbone.reduce((s, id) => s + a.layers.find((l) => l.id === id)!.params.total, 0);
    expect(model1.params).toBe(total);
  });

  it('never loops on a cycle and says why nothing was found', () => {
    const layers = [
      { id: 'a', name: 'a', kind: 'conv', inputs: ['b'], outputShape: [4, 4, 2], params: { total: 0 }, macs: 0 },
      { id: 'b', name: 'b', kind: 'add', inputs: ['a', 'a'], outputShape: [4, 4, 2], params: { total: 0 }, macs: 0 },
    ] as unknown as LayerAnalysis[];
    const tree = recognizeBlocks(layers);
    expect(tree.blocks).toEqual([]);
    expect(tree.warnings.join()).toContain('cycle');
  });
});
