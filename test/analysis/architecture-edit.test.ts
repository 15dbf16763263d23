/**
 * The what-if editor (analysis/edit.ts, edit-presets.ts, edit-rf.ts) against independent oracles: the lecture's
 * numbers computed by hand, torchvision's own classes built with the same knob values (PyTorch parameter counts),
 * graphs written out by hand here with the change made in the definition, and the full analysis of a graph whose
 * JSON was edited directly. A broken setting must be reported at the layer the analysis itself stops at.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AnalysisError, analyzeGraph, type ModelAnalysis } from '../../renderer/src/analysis';
import {
  analyzeForEdit,
  applyEdits,
  EditError,
  editableFields,
  evaluateEdit,
  type LayerEdit,
} from '../../renderer/src/analysis/edit';
import { buildEdit, findPreset, PRESETS } from '../../renderer/src/analysis/edit-presets';
import { parseEditArg } from '../../renderer/src/analysis/edit-file';
import { GraphBuilder, getZooGraph, resolveKnobs, ZOO_IDS, zooKnobs } from '../../renderer/src/zoo';
import type { GraphNode, ModelGraph } from '../../renderer/src/analysis/graph';
import { vggByHand } from './architecture-edit-oracles';

const SCRIPT = fileURLToPath(new URL('./oracle/edit_knobs.py', import.meta.url));
const APT_HINT = 'install them with: apt-get install python3-torch python3-torchvision';

const layer = (a: ModelAnalysis, name: string) => {
  const l = a.layers.find((x) => x.name === name);
  if (!l) throw new Error(`no layer ${name}`);
  return l;
};

/** Every number the editor shows, per layer, for comparing two analyses of the same architecture. */
const numbersOf = (a: ModelAnalysis) =>
  a.layers.map((l) => ({
    name: l.name,
    shape: l.outputShape,
    params: l.params.total,
    macs: l.macs,
    rf: l.receptiveField && [l.receptiveField.size, l.receptiveField.jump, l.receptiveField.start],
  }));

function preset(id: string) {
  const p = findPreset(id);
  if (!p) throw new Error(`no preset ${id}`);
  const built = buildEdit({ base: p.base, preset: id, edits: [] });
  const r = evaluateEdit(built.base, built.edited, { touched: built.touched });
  if (!r.analysis || !r.diff) throw new Error(`${id} broke: ${r.broken?.message}`);
  return { built, r, analysis: r.analysis, diff: r.diff };
}

// ---- hand-written oracle graphs: the edited architectures written out as definitions ----

/** GoogLeNet (torchvision layout) with the 3×3 branch reading the module input directly. */
function googlenetNoReduceByHand(): ModelGraph {
  const b = new GraphBuilder('googlenet');
  const cb = (n: string, x: string, f: number, k: number, s = 1) => {
    let y = b.conv(`${n}_conv`, x, f, k, { strides: s, padding: k > 1 && s === 1 ? 'same' : 'valid', useBias: false });
    y = b.bn(`${n}_bn`, y, { epsilon: 1e-3 });
    return b.act(`${n}_relu`, y, 'relu');
  };
  const mod = (n: string, x: string, c: number[]) => {
    const b1 = cb(`${n}_1x1`, x, c[0], 1);
    const b2 = cb(`${n}_3x3`, x, c[2], 3);
    let b3 = cb(`${n}_b3_reduce`, x, c[3], 1);
    b3 = cb(`${n}_b3_3x3`, b3, c[4], 3);
    let b4 = b.maxpool(`${n}_pool`, x, 3, 1, 'same');
    b4 = cb(`${n}_pool_proj`, b4, c[5], 1);
    return b.concat(n, [b1, b2, b3, b4]);
  };
  let x = b.input('input_1', [224, 224, 3]);
  x = b.zeropad('conv1_pad', x, 3);
  x = cb('conv1', x, 64, 7, 2);
  x = b.maxpool('pool1', x, 3, 2, 'same');
  x = cb('conv2', x, 64, 1);
  x = cb('conv3', x, 192, 3);
  x = b.maxpool('pool2', x, 3, 2, 'same');
  x = mod('inception3a', x, [64, 96, 128, 16, 32, 32]);
  x = mod('inception3b', x, [128, 128, 192, 32, 96, 64]);
  x = b.maxpool('pool3', x, 3, 2, 'same');
  x = mod('inception4a', x, [192, 96, 208, 16, 48, 64]);
  x = mod('inception4b', x, [160, 112, 224, 24, 64, 64]);
  x = mod('inception4c', x, [128, 128, 256, 24, 64, 64]);
  x = mod('inception4d', x, [112, 144, 288, 32, 64, 64]);
  x = mod('inception4e', x, [256, 160, 320, 32, 128, 128]);
  x = b.maxpool('pool4', x, 2, 2, 'same');
  x = mod('inception5a', x, [256, 160, 320, 32, 128, 128]);
  x = mod('inception5b', x, [384, 192, 384, 48, 128, 128]);
  x = b.gap('avg_pool', x);
  x = b.dropout('dropout', x, 0.2);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}

/** Keras ResNet-50 with every bottleneck replaced by two 3×3 convs at the block's output width. */
function resnetBasicByHand(): ModelGraph {
  const b = new GraphBuilder('resnet50');
  const eps = { epsilon: 1.001e-5 };
  let x = b.input('input_1', [224, 224, 3]);
  x = b.zeropad('conv1_pad', x, 3);
  x = b.conv('conv1_conv', x, 64, 7, { strides: 2 });
  x = b.bn('conv1_bn', x, eps);
  x = b.act('conv1_relu', x, 'relu');
  x = b.zeropad('pool1_pad', x, 1);
  x = b.maxpool('pool1_pool', x, 3, 2);
  const stages: [string, number, number, number][] = [
    ['conv2', 256, 3, 1],
    ['conv3', 512, 4, 2],
    ['conv4', 1024, 6, 2],
    ['conv5', 2048, 3, 2],
  ];
  for (const [name, out, blocks, stride] of stages) {
    for (let i = 1; i <= blocks; i++) {
      const n = `${name}_block${i}`;
      const s = i === 1 ? stride : 1;
      let sc = x;
      if (i === 1) {
        sc = b.conv(`${n}_0_conv`, x, out, 1, { strides: s });
        sc = b.bn(`${n}_0_bn`, sc, eps);
      }
      let y = b.conv(`${n}_1_conv`, x, out, 3, { strides: s, padding: 'same' });
      y = b.bn(`${n}_1_bn`, y, eps);
      y = b.act(`${n}_1_relu`, y, 'relu');
      y = b.conv(`${n}_2_conv`, y, out, 3, { padding: 'same' });
      y = b.bn(`${n}_2_bn`, y, eps);
      y = b.add(`${n}_add`, [sc, y]);
      x = b.act(`${n}_out`, y, 'relu');
    }
  }
  x = b.gap('avg_pool', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}

/** Keras DenseNet-121 with growth rate k, the channel counts written out by hand. */
function densenetByHand(k: number): ModelGraph {
  const b = new GraphBuilder('densenet121');
  const eps = { epsilon: 1.001e-5 };
  let x = b.input('input_1', [224, 224, 3]);
  x = b.zeropad('zero_padding2d', x, 3);
  x = b.conv('conv1_conv', x, 64, 7, { strides: 2, useBias: false });
  x = b.bn('conv1_bn', x, eps);
  x = b.act('conv1_relu', x, 'relu');
  x = b.zeropad('zero_padding2d_1', x, 1);
  x = b.maxpool('pool1', x, 3, 2);
  let channels = 64;
  [6, 12, 24, 16].forEach((blocks, s) => {
    for (let i = 1; i <= blocks; i++) {
      const n = `conv${s + 2}_block${i}`;
      let y = b.bn(`${n}_0_bn`, x, eps);
      y = b.act(`${n}_0_relu`, y, 'relu');
      y = b.conv(`${n}_1_conv`, y, 4 * k, 1, { useBias: false });
      y = b.bn(`${n}_1_bn`, y, eps);
      y = b.act(`${n}_1_relu`, y, 'relu');
      y = b.conv(`${n}_2_conv`, y, k, 3, { padding: 'same', useBias: false });
      x = b.concat(`${n}_concat`, [x, y]);
      channels += k;
    }
    if (s < 3) {
      const n = `pool${s + 2}`;
      let y = b.bn(`${n}_bn`, x, eps);
      y = b.act(`${n}_relu`, y, 'relu');
      channels = Math.floor(channels / 2);
      y = b.conv(`${n}_conv`, y, channels, 1, { useBias: false });
      x = b.avgpool(`${n}_pool`, y, 2, 2);
    }
  });
  x = b.bn('bn', x, eps);
  x = b.act('relu', x, 'relu');
  x = b.gap('avg_pool', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}

describe('presets: the lecture numbers, computed by hand', () => {
  it('vgg16-gap: fc1 from 102,764,544 to 2,101,248 parameters', () => {
    const { diff, analysis } = preset('vgg16-gap');
    const fc1 = diff.layers.find((r) => r.name === 'fc1');
    expect(fc1?.before?.params).toBe(7 * 7 * 512 * 4096 + 4096);
    expect(fc1?.before?.params).toBe(102_764_544);
    expect(fc1?.after?.params).toBe(512 * 4096 + 4096);
    expect(fc1?.after?.params).toBe(2_101_248);
    expect(fc1?.params).toBe(2_101_248 - 102_764_544);
    expect(diff.totals.paramsAfter - diff.totals.paramsBefore).toBe(2_101_248 - 102_764_544);
    expect(layer(analysis, 'avg_pool').outputShape).toEqual([512]);
    expect(diff.layers.find((r) => r.name === 'flatten')?.status).toBe('removed');
    expect(diff.layers.find((r) => r.name === 'avg_pool')?.status).toBe('added');
  });

  it('5x5-vs-3x3: 25 vs 18 weights per channel pair, the same field at block3_pool', () => {
    const { diff } = preset('5x5-vs-3x3');
    const c2 = diff.layers.find((r) => r.name === 'block3_conv2');
    const c3 = diff.layers.find((r) => r.name === 'block3_conv3');
    // One 5×5 (256 → 256): 25·256·256 weights + 256 biases; two 3×3: 2·(9·256·256 + 256).
    expect(c2?.after?.params).toBe(25 * 256 * 256 + 256);
    expect((c2?.before?.params ?? 0) + (c3?.before?.params ?? 0)).toBe(2 * (9 * 256 * 256 + 256));
    expect(c3?.status).toBe('removed');
    expect(diff.totals.paramsAfter - diff.totals.paramsBefore).toBe(25 * 65536 + 256 - 2 * (9 * 65536 + 256));
    // MACs at 56×56: 56·56·(25 − 18)·256·256 more.
    expect(diff.totals.macsAfter - diff.totals.macsBefore).toBe(56 * 56 * 7 * 256 * 256);
    // Field at block3_pool, by hand: 1 +2+2 → 5, pool → 6 (jump 2), +4+4 → 14, pool → 16 (jump 4), then
    // +8+8+8 → 40 (three 3×3) or +8+16 → 40 (3×3 then 5×5), pool → 44.
    const pool = diff.layers.find((r) => r.name === 'block3_pool');
    expect(pool?.before?.rf?.size).toEqual([44, 44]);
    expect(pool?.after?.rf?.size).toEqual([44, 44]);
    expect(pool?.rfChanged).toBe(false);
    expect(diff.finalRf.after).toEqual(diff.finalRf.before);
  });

  it('googlenet-no-reduce: inception3a 129,024 → 221,184 weights in its 3×3 branch', () => {
    const { diff, analysis } = preset('googlenet-no-reduce');
    const reduce = diff.layers.find((r) => r.name === 'inception3a_3x3_reduce_conv');
    const conv = diff.layers.find((r) => r.name === 'inception3a_3x3_conv');
    expect(reduce?.status).toBe('removed');
    expect(reduce?.before?.params).toBe(192 * 96);
    expect(conv?.before?.params).toBe(9 * 96 * 128);
    expect(conv?.after?.params).toBe(9 * 192 * 128);
    expect(192 * 96 + 9 * 96 * 128).toBe(129_024);
    expect(9 * 192 * 128).toBe(221_184);
    expect(layer(analysis, 'inception3a').outputShape).toEqual([28, 28, 256]);
  });

  it('resnet-basic-vs-bottleneck: 69,632 vs 1,179,648 weights in a 256-channel identity block', () => {
    const { diff } = preset('resnet-basic-vs-bottleneck');
    const w = (n: string, side: 'before' | 'after') => diff.layers.find((r) => r.name === n)?.[side]?.params ?? 0;
    // Keras ResNet convs have biases: weights + biases of each conv.
    const bottleneck =
      w('conv2_block2_1_conv', 'before') + w('conv2_block2_2_conv', 'before') + w('conv2_block2_3_conv', 'before');
    expect(bottleneck).toBe(256 * 64 + 64 + 9 * 64 * 64 + 64 + 64 * 256 + 256);
    expect(256 * 64 + 9 * 64 * 64 + 64 * 256).toBe(69_632);
    const basic = w('conv2_block2_1_conv', 'after') + w('conv2_block2_2_conv', 'after');
    expect(basic).toBe(2 * (9 * 256 * 256 + 256));
    expect(2 * 9 * 256 * 256).toBe(1_179_648);
    expect(diff.layers.find((r) => r.name === 'conv2_block2_3_conv')?.status).toBe('removed');
  });

  it('densenet-k12: the last dense block ends with 389 channels instead of 1,024', () => {
    const { analysis, diff } = preset('densenet-k12');
    // By hand: 64 + 6·12 = 136 → 68; 68 + 12·12 = 212 → 106; 106 + 24·12 = 394 → 197; 197 + 16·12 = 389.
    expect(layer(analysis, 'conv5_block16_concat').outputShape).toEqual([7, 7, 389]);
    expect(diff.layers.find((r) => r.name === 'conv5_block16_concat')?.before?.outputShape).toEqual([7, 7, 1024]);
    expect(layer(analysis, 'predictions').params.total).toBe(389 * 1000 + 1000);
  });

  it('every preset has a short name, a one-line explanation and numbers that match its text', () => {
    for (const p of PRESETS) {
      expect(p.id).toMatch(/^[a-z0-9-]+$/);
      expect(p.explanation).not.toMatch(/\n/);
      const { built, diff } = preset(p.id);
      expect(built.base.name).toBe(p.base);
      expect(diff.changed.length).toBeGreaterThan(0);
    }
    expect(findPreset('vgg16-gap')?.explanation).toContain('102,764,544');
    expect(findPreset('vgg16-gap')?.explanation).toContain('2,101,248');
  });
});

describe('presets equal the analysis of the same architecture written out by hand', () => {
  const cases: [string, () => ModelGraph][] = [
    ['vgg16-gap', () => vggByHand([2, 2, 3, 3, 3], [], true)],
    ['5x5-vs-3x3', () => vggByHand([2, 2, 2, 3, 3], [[], [], [3, 5]], false)],
    ['googlenet-no-reduce', googlenetNoReduceByHand],
    ['resnet-basic-vs-bottleneck', resnetBasicByHand],
    ['densenet-k12', () => densenetByHand(12)],
  ];
  it.each(cases)('%s', (id, byHand) => {
    const { analysis } = preset(id);
    const oracle = analyzeGraph(byHand());
    expect(analysis.totals).toEqual(oracle.totals);
    expect(numbersOf(analysis)).toEqual(numbersOf(oracle));
  });

  it('the fast receptive fields (UI path) equal the full analysis for every preset and zoo model', () => {
    const graphs = [
      ...ZOO_IDS.map((id) => getZooGraph(id)),
      ...PRESETS.map((p) => buildEdit({ base: p.base, preset: p.id, edits: [] }).edited),
      getZooGraph('inceptionv3', { input: [331, 257] }),
    ];
    for (const g of graphs) {
      expect(numbersOf(analyzeForEdit(g, true)), g.name).toEqual(numbersOf(analyzeGraph(g)));
    }
  });
});

describe('the fast fields fall back to the full analysis where they do not apply', () => {
  it('a graph with an upsample gets the full analysis (paths included)', () => {
    const g: ModelGraph = {
      name: 'up',
      outputs: ['c2'],
      nodes: [
        { name: 'in', op: 'input', inputs: [], shape: [16, 16, 3] },
        {
          name: 'c1',
          op: 'conv',
          inputs: ['in'],
          filters: 4,
          kernel: [3, 3],
          strides: [2, 2],
          padding: 'same',
          dilation: [1, 1],
          useBias: true,
        },
        { name: 'up', op: 'upsample', inputs: ['c1'], size: [2, 2], interpolation: 'nearest' },
        {
          name: 'c2',
          op: 'conv',
          inputs: ['up'],
          filters: 4,
          kernel: [3, 3],
          strides: [1, 1],
          padding: 'same',
          dilation: [1, 1],
          useBias: true,
        },
      ],
    };
    expect(analyzeForEdit(g, true)).toEqual(analyzeGraph(g));
  });
});

describe('architecture knobs against torchvision (PyTorch parameter counts, no BN statistics)', () => {
  interface Oracle {
    densenet: Record<string, { params: number; features: number[] }>;
    mobilenet: Record<string, { params: number; features: number[] }>;
    vgg: Record<string, { params: number; fc1: number; features: number[] }>;
  }
  let oracle: Oracle;
  beforeAll(() => {
    const r = spawnSync('/usr/bin/python3', [SCRIPT], { encoding: 'utf8', timeout: 240_000 });
    if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); ${APT_HINT}`);
    if (r.status === 3)
      throw new Error(`the PyTorch oracle needs torch and torchvision (${r.stderr.trim()}); ${APT_HINT}`);
    if (r.status !== 0) throw new Error(`the PyTorch oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
    oracle = JSON.parse(r.stdout) as Oracle;
  }, 250_000);

  it('DenseNet growth rate k (torchvision DenseNet(growth_rate=k))', () => {
    for (const [k, o] of Object.entries(oracle.densenet)) {
      const a = analyzeGraph(getZooGraph('densenet121', { knobs: { growthRate: Number(k) } }));
      expect(a.totals.paramsWithoutBnStats, `k = ${k}`).toBe(o.params);
      expect(layer(a, 'relu').outputShape, `k = ${k}`).toEqual(o.features);
    }
  });

  it('MobileNetV2 width multiplier α and expansion t (torchvision MobileNetV2(width_mult, setting))', () => {
    for (const [key, o] of Object.entries(oracle.mobilenet)) {
      const [alpha, t] = key.split('/').map(Number);
      const a = analyzeGraph(getZooGraph('mobilenetv2', { knobs: { alpha, expansion: t } }));
      expect(a.totals.paramsWithoutBnStats, key).toBe(o.params);
      expect(layer(a, 'out_relu').outputShape, key).toEqual(o.features);
    }
  });

  it('VGG convs per stage and global pooling (torchvision VGG / make_layers)', () => {
    for (const [key, o] of Object.entries(oracle.vgg)) {
      const [convs, gap] = key.split('/');
      const knobs: Record<string, number> = { globalPool: Number(gap) };
      convs.split(',').forEach((n, i) => (knobs[`convsStage${i + 1}`] = Number(n)));
      const a = analyzeGraph(getZooGraph('vgg16', { knobs }));
      expect(a.totals.params, key).toBe(o.params);
      expect(layer(a, 'fc1').params.total, key).toBe(o.fc1);
      expect(layer(a, 'block5_pool').outputShape, key).toEqual(o.features);
    }
    // Published torchvision counts (weights meta "num_params"): VGG-11 132,863,336, VGG-19 143,667,240.
    expect(oracle.vgg['1,1,2,2,2/0'].params).toBe(132_863_336);
    expect(oracle.vgg['2,2,4,4,4/0'].params).toBe(143_667_240);
  });
});

describe('knobs', () => {
  it('default knob values give every zoo graph node for node', () => {
    for (const id of ZOO_IDS) {
      const defaults = Object.fromEntries(zooKnobs(id).map((k) => [k.id, k.defaultValue]));
      expect(JSON.stringify(getZooGraph(id, { knobs: defaults }))).toBe(JSON.stringify(getZooGraph(id)));
    }
  });

  it('refuses unknown knobs and values off their range or grid, naming the knob', () => {
    expect(() => resolveKnobs('vgg16', { growthRate: 12 })).toThrow(/vgg16 has no knob "growthRate"/);
    expect(() => resolveKnobs('densenet121', { growthRate: 13 })).toThrow(
      /growthRate" = 13 is out of range: 4 … 64 in steps of 4/,
    );
    expect(() => resolveKnobs('densenet121', { growthRate: 1e9 })).toThrow(/out of range/);
    expect(() => resolveKnobs('vgg16', { globalPool: 0.5 })).toThrow(/0 or 1/);
    expect(() => resolveKnobs('alexnet', { width: 1 })).toThrow(/its knobs: none/);
    expect(resolveKnobs('densenet121', { compression: 0.35 }).compression).toBe(0.35);
  });
});

/** Deterministic PRNG for the random-edit tests (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The oracle: the zoo graph's JSON with the change written into the node directly, analysed from scratch. */
function oracleFor(graph: ModelGraph, name: string, change: (n: Record<string, unknown>) => void): ModelGraph {
  const g = JSON.parse(JSON.stringify(graph)) as ModelGraph;
  const node = g.nodes.find((n) => n.name === name) as unknown as Record<string, unknown>;
  change(node);
  return g;
}

function expectSameOutcome(graph: ModelGraph, edit: LayerEdit, oracleGraph: ModelGraph) {
  const r = evaluateEdit(graph, applyEdits(graph, [edit]), { fast: true });
  let oracle: ModelAnalysis | null = null;
  let oracleError: AnalysisError | null = null;
  try {
    oracle = analyzeGraph(oracleGraph);
  } catch (e) {
    if (!(e instanceof AnalysisError)) throw e;
    oracleError = e;
  }
  const what = `${graph.name} ${edit.layer}.${edit.field}=${JSON.stringify(edit.value)}`;
  if (oracleError) {
    expect(r.broken?.layer, what).toBe(oracleError.layer);
    expect(r.analysis, what).toBeNull();
  } else {
    expect(r.broken, what).toBeNull();
    expect(numbersOf(r.analysis as ModelAnalysis), what).toEqual(numbersOf(oracle as ModelAnalysis));
    expect(r.diff?.totals.paramsAfter, what).toBe(oracle?.totals.params);
    expect(r.diff?.totals.macsAfter, what).toBe(oracle?.totals.macs);
  }
  return r;
}

describe('seeded random edits of every built-in model equal the analysis of the graph edited by hand', () => {
  it.each(ZOO_IDS.map((id) => [id]))('%s: random filters, kernels, dilations, paddings, strides, units', (id) => {
    const graph = getZooGraph(id);
    const rand = rng(1234 + id.length * 7919);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const convs = graph.nodes.filter((n) => n.op === 'conv') as Extract<GraphNode, { op: 'conv' }>[];
    const pools = graph.nodes.filter((n) => n.op === 'maxpool' || n.op === 'avgpool');
    const dense = graph.nodes.filter((n) => n.op === 'dense');
    let broke = 0;
    for (let i = 0; i < 6; i++) {
      const c = pick(convs);
      const filters = 1 + Math.floor(rand() * 300);
      const r = expectSameOutcome(
        graph,
        { layer: c.name, field: 'filters', value: filters },
        oracleFor(graph, c.name, (n) => (n.filters = filters)),
      );
      if (r.broken) broke++;
      const dil = pick([1, 2, 3]);
      const pad = pick(['same', 'valid', 1, [0, 2, 1, 1]] as const);
      expectSameOutcome(
        graph,
        { layer: c.name, field: 'dilation', value: dil },
        oracleFor(graph, c.name, (n) => (n.dilation = [dil, dil])),
      );
      expectSameOutcome(
        graph,
        { layer: c.name, field: 'padding', value: typeof pad === 'object' ? [...pad] : pad },
        oracleFor(
          graph,
          c.name,
          (n) =>
            (n.padding = typeof pad === 'number' ? [pad, pad, pad, pad] : typeof pad === 'object' ? [...pad] : pad),
        ),
      );
      const k = pick([1, 3, 5, 7]);
      expectSameOutcome(
        graph,
        { layer: c.name, field: 'kernel', value: k },
        oracleFor(graph, c.name, (n) => (n.kernel = [k, k])),
      );
    }
    for (const p of [pick(pools), pick(pools)].filter(Boolean)) {
      const s = pick([1, 2, 3]);
      expectSameOutcome(
        graph,
        { layer: p.name, field: 'stride', value: s },
        oracleFor(graph, p.name, (n) => (n.strides = [s, s])),
      );
    }
    const d = pick(dense);
    const units = 1 + Math.floor(rand() * 5000);
    expectSameOutcome(
      graph,
      { layer: d.name, field: 'units', value: units },
      oracleFor(graph, d.name, (n) => (n.units = units)),
    );
    // Residual networks break when a branch's width changes before an add; plain chains never do.
    if (id === 'alexnet' || id === 'vgg16') expect(broke).toBe(0);
  });
});

describe('a broken setting is reported at the first layer that breaks, with its formula', () => {
  it('a pool larger than its map: block5_pool, (14 + 2·0 − 15)/2 + 1', () => {
    const g = getZooGraph('vgg16');
    const r = evaluateEdit(g, applyEdits(g, [{ layer: 'block5_pool', field: 'kernel', value: 15 }]));
    expect(r.broken?.layer).toBe('block5_pool');
    expect(r.broken?.problem).toMatch(/below 1×1/);
    // ⌊(14 − 15)/2⌋ + 1 = ⌊−0.5⌋ + 1 = 0.
    expect(r.broken?.formula).toContain('height (14 + 2·0 − 15)/2 + 1 = 0.5, floored to 0');
  });

  it('a stride that shrinks the map early breaks at the first layer whose output is empty', () => {
    const g = getZooGraph('vgg16');
    const r = evaluateEdit(g, applyEdits(g, [{ layer: 'block1_pool', field: 'stride', value: 64 }]));
    // 224 → block1_pool ⌊(224 − 2)/64⌋ + 1 = 4 → block2_pool 2 → block3_pool 1 → block4_pool ⌊(1 − 2)/2⌋ + 1 = 0.
    expect(r.broken?.layer).toBe('block4_pool');
    expect(r.broken?.formula).toContain('(1 + 2·0 − 2)/2 + 1');
  });

  it('a residual add whose branch no longer matches: block_2_add, channels 24 ≠ 32', () => {
    const g = getZooGraph('mobilenetv2');
    const r = evaluateEdit(g, applyEdits(g, [{ layer: 'block_2_project', field: 'filters', value: 32 }]));
    expect(r.broken?.layer).toBe('block_2_add');
    expect(r.broken?.formula).toContain('channels 24 ≠ 32');
  });

  it('with strict, a non-integer output size breaks at the first layer the edit made inexact', () => {
    const g = getZooGraph('vgg16');
    const edited = applyEdits(g, [{ layer: 'block4_pool', field: 'kernel', value: 3 }]);
    const loose = evaluateEdit(g, edited);
    expect(loose.broken).toBeNull();
    // (28 − 3)/2 + 1 = 13.5: Keras floors to 13; then block5_pool (13 − 2)/2 + 1 = 6.5 → 6.
    expect(loose.warnings[0]).toContain(
      'block4_pool: output size not a whole number: height (28 + 2·0 − 3)/2 + 1 = 13.5',
    );
    const strict = evaluateEdit(g, edited, { strict: true });
    expect(strict.broken?.layer).toBe('block4_pool');
    expect(strict.broken?.formula).toContain('= 13.5, floored to 13');
    // ResNet-50's own conv1 floors ((230 − 7)/2 + 1 = 112.5): not the edit's doing, so not flagged.
    const rn = getZooGraph('resnet50');
    expect(evaluateEdit(rn, applyEdits(rn, []), { strict: true }).broken).toBeNull();
  });

  it('downstream input channels follow an edit by themselves', () => {
    const g = getZooGraph('vgg16');
    const r = evaluateEdit(g, applyEdits(g, [{ layer: 'block1_conv1', field: 'filters', value: 32 }]));
    const a = r.analysis as ModelAnalysis;
    expect(layer(a, 'block1_conv2').params.total).toBe(9 * 32 * 64 + 64);
    expect(r.diff?.changed).toEqual(['block1_conv1', 'block1_conv2']);
  });
});

describe('bad edits are refused with the layer and the field named', () => {
  const g = getZooGraph('vgg16');
  it.each<[LayerEdit, RegExp]>([
    [{ layer: 'nope', field: 'kernel', value: 3 }, /vgg16 has no layer "nope"/],
    [
      { layer: 'fc1', field: 'kernel', value: 3 },
      /layer "fc1" \(Dense\) has no editable field "kernel" \(its fields: units\)/,
    ],
    [{ layer: 'block1_pool', field: 'filters', value: 3 }, /no editable field "filters"/],
    [{ layer: 'block1_conv1', field: 'kernel', value: 0 }, /kernel must be a whole number from 1 to 1024/],
    [{ layer: 'block1_conv1', field: 'kernel', value: 2.5 }, /kernel must be a whole number/],
    [{ layer: 'block1_conv1', field: 'kernel', value: 1e9 }, /kernel must be a whole number/],
    [{ layer: 'block1_conv1', field: 'filters', value: -4 }, /filters must be a whole number from 1 to 65536/],
    [{ layer: 'fc1', field: 'units', value: 1e12 }, /units must be a whole number/],
    [{ layer: 'block1_conv1', field: 'padding', value: 'full' as 'same' }, /padding must be "same", "valid"/],
    [{ layer: 'block1_conv1', field: 'padding', value: [1, 2, 3] }, /padding must be/],
  ])('%j', (edit, message) => {
    expect(() => applyEdits(g, [edit])).toThrow(EditError);
    expect(() => applyEdits(g, [edit])).toThrow(message);
  });

  it('the original graph is never changed by an edit', () => {
    const before = JSON.stringify(g);
    applyEdits(g, [{ layer: 'block1_conv1', field: 'kernel', value: 7 }]);
    expect(JSON.stringify(g)).toBe(before);
  });

  it('editable fields per op', () => {
    const by = (name: string) => g.nodes.find((n) => n.name === name) as GraphNode;
    expect(editableFields(by('block1_conv1'))).toEqual(['kernel', 'stride', 'padding', 'dilation', 'filters']);
    expect(editableFields(by('block1_pool'))).toEqual(['kernel', 'stride', 'padding']);
    expect(editableFields(by('fc1'))).toEqual(['units']);
    expect(editableFields(by('flatten'))).toEqual([]);
  });

  it('parses command-line edits', () => {
    expect(parseEditArg('block1_conv1.kernel=5')).toEqual({ layer: 'block1_conv1', field: 'kernel', value: 5 });
    expect(parseEditArg('conv.1.kernel=5x3')).toEqual({ layer: 'conv.1', field: 'kernel', value: [5, 3] });
    expect(parseEditArg('p.padding=1,1,0,0')).toEqual({ layer: 'p', field: 'padding', value: [1, 1, 0, 0] });
    expect(parseEditArg('p.padding=same')).toEqual({ layer: 'p', field: 'padding', value: 'same' });
    expect(() => parseEditArg('block1_conv1.colour=5')).toThrow(/unknown field "colour"/);
    expect(() => parseEditArg('block1_conv1.kernel=-5')).toThrow(/not a whole number/);
    expect(() => parseEditArg('kernel5')).toThrow(/LAYER.FIELD=VALUE/);
  });
});
