import { describe, expect, it } from 'vitest';
import {
  analyzeGraph,
  footprintOnLayer,
  unitFootprint,
  type LayerAnalysis,
  type ModelAnalysis,
} from '../../renderer/src/analysis';
import { GraphBuilder, getZooGraph, ZOO_IDS } from '../../renderer/src/zoo';

const byId = (a: ModelAnalysis) => new Map(a.layers.map((l) => [l.id, l]));

/** Distill's "effective padding": P = (r − 1)/2 − start (start = centre of unit 0 in input pixel indices). */
const effectivePadding = (l: LayerAnalysis) => (l.receptiveField!.size[0] - 1) / 2 - l.receptiveField!.start[0];

/**
 * Independent check of the receptive field: the input pixels a unit depends on, found by walking index ranges
 * backwards through every path (hull of the union), using only each layer's kernel/stride/padding.
 */
function dependencyHull(
  a: ModelAnalysis,
  layerId: string,
  y: number,
  x: number,
): Map<string, [number, number, number, number]> {
  const hull = new Map<string, [number, number, number, number]>([[layerId, [y, y, x, x]]]);
  const order = a.layers.map((l) => l.id);
  const layers = byId(a);
  for (let i = order.indexOf(layerId); i >= 0; i--) {
    const l = layers.get(order[i])!;
    const h = hull.get(l.id);
    if (!h) continue;
    const g = l.geometry;
    let mapped: [number, number, number, number];
    if (g) {
      const kh = (g.kernel[0] - 1) * g.dilation[0];
      const kw = (g.kernel[1] - 1) * g.dilation[1];
      mapped = [
        h[0] * g.stride[0] - g.pad[0],
        h[1] * g.stride[0] - g.pad[0] + kh,
        h[2] * g.stride[1] - g.pad[2],
        h[3] * g.stride[1] - g.pad[2] + kw,
      ];
    } else mapped = h;
    for (const inp of l.inputs) {
      const prev = hull.get(inp);
      hull.set(
        inp,
        prev
          ? [
              Math.min(prev[0], mapped[0]),
              Math.max(prev[1], mapped[1]),
              Math.min(prev[2], mapped[2]),
              Math.max(prev[3], mapped[3]),
            ]
          : mapped,
      );
    }
  }
  return hull;
}

describe('receptive fields', () => {
  it('matches a hand computation on a small chain (valid, pool, same, strided dilated, zero padding)', () => {
    const b = new GraphBuilder('chain');
    let x = b.input('in', [32, 32, 1]);
    x = b.conv('c1', x, 4, 3); //               r = 1 + 2·1 = 3,  j = 1, start = 0 + (1 − 0)·1 = 1;     30×30
    x = b.maxpool('p1', x, 2, 2); //             r = 3 + 1·1 = 4,  j = 2, start = 1 + (0.5 − 0)·1 = 1.5; 15×15
    x = b.conv('c2', x, 4, 3, { padding: 'same' }); // r = 4 + 2·2 = 8, j = 2, start = 1.5 + (1 − 1)·2 = 1.5
    x = b.conv('c3', x, 4, 3, { strides: 2, dilation: 2 }); // k_eff 5: r = 8 + 4·2 = 16, j = 4, start = 1.5 + 2·2 = 5.5; 6×6
    x = b.zeropad('zp', x, 1); //                 r = 16, j = 4, start = 5.5 − 1·4 = 1.5; 8×8
    x = b.conv('c4', x, 4, 2); //                r = 16 + 1·4 = 20, j = 4, start = 1.5 + 0.5·4 = 3.5; 7×7
    const a = byId(analyzeGraph(b.build([x])));
    const rf = (id: string) => {
      const r = a.get(id)!.receptiveField!;
      return [r.size[0], r.jump[0], r.start[0], a.get(id)!.outputShape[0]];
    };
    expect(rf('in')).toEqual([1, 1, 0, 32]);
    expect(rf('c1')).toEqual([3, 1, 1, 30]);
    expect(rf('p1')).toEqual([4, 2, 1.5, 15]);
    expect(rf('c2')).toEqual([8, 2, 1.5, 15]);
    expect(rf('c3')).toEqual([16, 4, 5.5, 6]);
    expect(rf('zp')).toEqual([16, 4, 1.5, 8]);
    expect(rf('c4')).toEqual([20, 4, 3.5, 7]);
    expect(a.get('c4')!.receptiveField!.paths).toBeUndefined();
  });

  // Distill (Araujo, Norris & Sim 2019), "Discussion: receptive fields of modern networks", and the full table it
  // summarises: tensorflow/tensorflow tensorflow/contrib/receptive_field/RECEPTIVE_FIELD_TABLE.md (TF-slim models,
  // resolution 224; "RF", "effective stride" = our jump, "effective padding" = (r − 1)/2 − start).
  it('VGG-16 equals Distill at every end-point (vgg_16, TF-slim: 3×3 SAME convs, 2×2 VALID pools)', () => {
    const a = byId(analyzeGraph(getZooGraph('vgg16')));
    const table: [string, number, number, number][] = [
      ['block1_conv1', 3, 1, 1],
      ['block1_pool', 6, 2, 2],
      ['block2_conv1', 10, 2, 4],
      ['block2_pool', 16, 4, 6],
      ['block3_conv1', 24, 4, 10],
      ['block3_conv2', 32, 4, 14],
      ['block3_pool', 44, 8, 18],
      ['block4_conv1', 60, 8, 26],
      ['block4_conv2', 76, 8, 34],
      ['block4_pool', 100, 16, 42],
      ['block5_conv1', 132, 16, 58],
      ['block5_conv2', 164, 16, 74],
      ['block5_pool', 212, 32, 90],
    ];
    for (const [id, r, j, p] of table) {
      const l = a.get(id)!;
      expect([id, l.receptiveField!.size, l.receptiveField!.jump, effectivePadding(l)]).toEqual([
        id,
        [r, r],
        [j, j],
        p,
      ]);
    }
  });

  it('Inception-v3 equals Distill at every end-point up to Mixed_7c = 1311 (Keras names)', () => {
    // Keras InceptionV3 uses the same VALID/SAME choices as TF-slim inception_v3; endpoint names mapped:
    // Conv2d_1a/2a/2b = activation_1/2/3, MaxPool_3a = max_pooling2d_1, Conv2d_3b/4a = activation_4/5,
    // MaxPool_5a = max_pooling2d_2, Mixed_5b..Mixed_7c = mixed0..mixed10.
    const a = byId(analyzeGraph(getZooGraph('inceptionv3')));
    const table: [string, number, number, number][] = [
      ['activation_1', 3, 2, 0],
      ['activation_2', 7, 2, 0],
      ['activation_3', 11, 2, 2],
      ['max_pooling2d_1', 15, 4, 2],
      ['activation_4', 15, 4, 2],
      ['activation_5', 23, 4, 2],
      ['max_pooling2d_2', 31, 8, 2],
      ['mixed0', 63, 8, 18],
      ['mixed1', 95, 8, 34],
      ['mixed2', 127, 8, 50],
      ['mixed3', 159, 16, 58],
      ['mixed4', 351, 16, 154],
      ['mixed5', 543, 16, 250],
      ['mixed6', 735, 16, 346],
      ['mixed7', 927, 16, 442],
      ['mixed8', 1055, 32, 490],
      ['mixed9', 1183, 32, 554],
      ['mixed10', 1311, 32, 618],
    ];
    for (const [id, r, j, p] of table) {
      const l = a.get(id)!;
      expect([id, l.receptiveField!.size, l.receptiveField!.jump, effectivePadding(l)]).toEqual([
        id,
        [r, r],
        [j, j],
        p,
      ]);
    }
  });

  it('AlexNet: sizes and jumps equal Distill (alexnet_v2); padding is 2 more (torchvision pads conv1 by 2, slim does not)', () => {
    const a = byId(analyzeGraph(getZooGraph('alexnet')));
    const table: [string, number, number, number][] = [
      ['conv1', 11, 4, 0],
      ['pool1', 19, 8, 0],
      ['conv2', 51, 8, 16],
      ['conv3', 99, 16, 32],
      ['conv4', 131, 16, 48],
      ['conv5', 163, 16, 64],
      ['pool5', 195, 32, 64],
    ];
    for (const [id, r, j, p] of table) {
      const l = a.get(id)!;
      expect([id, l.receptiveField!.size[0], l.receptiveField!.jump[0], effectivePadding(l)]).toEqual([
        id,
        r,
        j,
        p + 2,
      ]);
    }
  });

  it("ResNet-50: block sizes equal Distill (35, 99, 291, 483); jumps differ as Distill's FAQ explains", () => {
    // TF-slim resnet_v1_50 strides in the last unit of a block (jumps 8, 16, 32, 32); Keras strides in the first
    // unit of the next block, so the same sizes come with jumps 4, 8, 16, 32. Keras pads symmetrically, so unit 0
    // stays centred on pixel 0 (start 0) everywhere.
    const a = byId(analyzeGraph(getZooGraph('resnet50')));
    const table: [string, number, number][] = [
      ['conv2_block3_out', 35, 4],
      ['conv3_block4_out', 99, 8],
      ['conv4_block6_out', 291, 16],
      ['conv5_block3_out', 483, 32],
    ];
    for (const [id, r, j] of table) {
      const rf = a.get(id)!.receptiveField!;
      expect([id, rf.size, rf.jump, rf.start]).toEqual([id, [r, r], [j, j], [0, 0]]);
    }
  });

  it('other zoo networks: final fields derived by hand from their kernels', () => {
    const last = (id: string, layer: string) => byId(analyzeGraph(getZooGraph(id))).get(layer)!.receptiveField!.size[0];
    // GoogLeNet: 7 → pool 11 → 3×3 19 → pool 27 → 3a, 3b (+16 each) 59 → pool 75 → 4a..4e (+32 each) 235 → pool 251 → 5a, 5b (+64 each).
    expect(last('googlenet', 'inception5b')).toBe(379);
    // MobileNetV2: 3 → 7 → 11 → 19 → 27 → 59 → 75 → 267 → 299 → +3·64.
    expect(last('mobilenetv2', 'out_relu')).toBe(491);
    // DenseNet-121: 11 after pool1, then 6·8, +4, 12·16, +8, 24·32, +16, 16·64.
    expect(last('densenet121', 'relu')).toBe(11 + 48 + 4 + 192 + 8 + 768 + 16 + 1024);
  });

  it('keeps every path at merges and reports the largest per axis', () => {
    const b = new GraphBuilder('merge');
    const x = b.input('in', [10, 10, 1]);
    const a13 = b.conv('a13', x, 2, [1, 3], { padding: 'same' });
    const a31 = b.conv('a31', x, 2, [3, 1], { padding: 'same' });
    const cat = b.concat('cat', [a13, a31]);
    const after = b.conv('after', cat, 2, 3, { padding: 'same' });
    const twin = b.concat('twin', [a13, b.dropout('d', a13, 0.1)]);
    const g = b.build([after, twin]);
    const an = byId(analyzeGraph(g));
    const rf = an.get('cat')!.receptiveField!;
    expect(rf.size).toEqual([3, 3]);
    expect(rf.paths).toEqual([
      { size: [1, 3], jump: [1, 1], start: [0, 0] },
      { size: [3, 1], jump: [1, 1], start: [0, 0] },
    ]);
    // A later conv transforms every path.
    expect(an.get('after')!.receptiveField!.paths!.map((p) => p.size)).toEqual([
      [3, 5],
      [5, 3],
    ]);
    expect(an.get('after')!.receptiveField!.size).toEqual([5, 5]);
    // Identical paths are deduplicated.
    expect(an.get('twin')!.receptiveField!.paths).toBeUndefined();
  });

  it('keeps misaligned paths (same size grid, different centres) and their starts', () => {
    const b = new GraphBuilder('misaligned');
    const x = b.input('in', [10, 10, 1]);
    const conv = b.conv('conv', x, 1, 3); // 8×8, r 3, start 1
    const g = b.build([conv]);
    g.nodes.push({ name: 'crop', op: 'crop', inputs: ['in'], crop: [0, 2, 0, 2] }); // 8×8, r 1, start 0
    g.nodes.push({ name: 'sum', op: 'add', inputs: ['conv', 'crop'] });
    const rf = byId(analyzeGraph(g)).get('sum')!.receptiveField!;
    expect(rf.size).toEqual([3, 3]);
    expect(rf.start).toEqual([1, 1]);
    expect(rf.paths).toContainEqual({ size: [1, 1], jump: [1, 1], start: [0, 0] });
  });

  it('records every branch of an Inception module and of the deep DAGs', () => {
    const g = byId(analyzeGraph(getZooGraph('googlenet')));
    // inception3a after pool2 (r 27, j 8): 1×1 keeps 27, 3×3 branches and the 3×3 pool add 2·8.
    expect([...new Set(g.get('inception3a')!.receptiveField!.paths!.map((p) => p.size[0]))].sort()).toEqual([27, 43]);
    const inc = byId(analyzeGraph(getZooGraph('inceptionv3'))).get('mixed10')!.receptiveField!;
    expect(inc.paths!.length).toBeGreaterThan(10);
    expect(Math.max(...inc.paths!.map((p) => p.size[0]))).toBe(1311);
    expect(inc.paths!.every((p) => p.jump[0] === 32 && p.jump[1] === 32)).toBe(true);
    const res = byId(analyzeGraph(getZooGraph('resnet50'))).get('conv5_block3_out')!.receptiveField!;
    // The shortest path takes every projection shortcut: 11 after pool1, no 3×3 convs at all.
    expect(Math.min(...res.paths!.map((p) => p.size[0]))).toBe(11);
  });

  it('every zoo network: the reported field equals the brute-force dependency hull of a unit', () => {
    for (const id of ZOO_IDS) {
      const a = analyzeGraph(getZooGraph(id));
      const spatial = a.layers.filter((l) => l.receptiveField && l.outputShape.length === 3);
      for (const l of [spatial[Math.floor(spatial.length / 2)], spatial[spatial.length - 1]]) {
        const [h, w] = l.outputShape;
        for (const [y, x] of [
          [0, 0],
          [h - 1, w - 1],
          [Math.floor(h / 2), Math.floor(w / 3)],
        ]) {
          const hull = dependencyHull(a, l.id, y, x).get(a.layers[0].id)!;
          const fp = unitFootprint(a, l.id, y, x);
          expect([id, l.id, y, x, fp.top, fp.bottom, fp.left, fp.right]).toEqual([id, l.id, y, x, ...hull]);
        }
      }
    }
  });
});

describe('footprints', () => {
  it('unit footprint of VGG-16 block5_pool: 212 pixels from −90 (the effective padding), clipped to the image', () => {
    const a = analyzeGraph(getZooGraph('vgg16'));
    expect(unitFootprint(a, 'block5_pool', 0, 0)).toEqual({
      top: -90,
      left: -90,
      bottom: 121,
      right: 121,
      clipped: { top: 0, left: 0, bottom: 121, right: 121 },
    });
    expect(unitFootprint(a, 'block5_pool', 6, 3)).toMatchObject({
      top: 102,
      bottom: 313,
      left: 6,
      right: 217,
      clipped: { top: 102, bottom: 223, left: 6, right: 217 },
    });
    expect(unitFootprint(a, 'input_1', 5, 7)).toMatchObject({ top: 5, bottom: 5, left: 7, right: 7 });
    expect(() => unitFootprint(a, 'fc1', 0, 0)).toThrow(/no spatial receptive field/);
    expect(() => unitFootprint(a, 'nope', 0, 0)).toThrow(/No layer "nope"/);
  });

  it('footprintOnLayer equals the units a chain unit depends on, at every earlier layer', () => {
    for (const id of ['vgg16', 'alexnet']) {
      const a = analyzeGraph(getZooGraph(id));
      const spatial = a.layers.filter((l) => l.receptiveField && l.outputShape.length === 3);
      const target = spatial[spatial.length - 1];
      for (const [y, x] of [
        [0, 0],
        [3, 2],
        [target.outputShape[0] - 1, target.outputShape[1] - 1],
      ]) {
        const hull = dependencyHull(a, target.id, y, x);
        for (const other of spatial) {
          const h = hull.get(other.id)!;
          const [n, m] = other.outputShape;
          const expected = {
            y0: Math.max(h[0], 0),
            y1: Math.min(h[1], n - 1),
            x0: Math.max(h[2], 0),
            x1: Math.min(h[3], m - 1),
          };
          if (other.kind === 'padding') continue; // padded coordinates: the zero border is not a unit of the previous layer
          expect([id, other.id, footprintOnLayer(a, target.id, y, x, other.id)]).toEqual([id, other.id, expected]);
        }
      }
    }
  });

  it('footprintOnLayer always returns a box inside the other layer', () => {
    const a = analyzeGraph(getZooGraph('resnet50'));
    // A later layer: its units see more than the field, so the units centred in it are returned.
    const box = footprintOnLayer(a, 'conv2_block1_out', 10, 10, 'conv5_block3_out');
    expect(box.y0).toBeLessThanOrEqual(box.y1);
    expect(box.y1).toBeLessThan(7);
    expect(footprintOnLayer(a, 'conv5_block3_out', 3, 3, 'conv1_conv')).toEqual({ y0: 0, y1: 111, x0: 0, x1: 111 });
  });
});
