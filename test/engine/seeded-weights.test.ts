import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { checkWeightShapes } from '../../renderer/src/engine/model-checks';
import { seededNormals, seededWeightStore } from '../../renderer/src/engine/seeded-weights';
import { getZooGraph, GraphBuilder, ZOO_IDS, type ZooId } from '../../renderer/src/zoo';
import type { ModelGraph } from '../../renderer/src/analysis/graph';

// Published parameter counts (Keras Applications / torchvision, BN moving statistics counted as Keras does): an
// oracle independent of this code. Architectures with a flatten-fed head depend on the input size and are checked
// against the analysis's per-layer counts instead.
const PUBLISHED: Partial<Record<ZooId, number>> = {
  alexnet: 61_100_840,
  vgg16: 138_357_544,
  googlenet: 6_639_464,
  resnet50: 25_636_712,
  densenet121: 8_062_504,
  mobilenetv2: 3_538_984,
  inceptionv3: 23_851_784,
};

/** Bitwise equality of two float arrays (vitest's deep equality walks them value by value, slowly). */
const sameBytes = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): the normal CDF the KS test compares against. */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Sample mean, standard deviation and the Kolmogorov–Smirnov distance to N(0, std²) with the given std. */
function stats(v: Float32Array, std: number): { mean: number; sd: number; ks: number; tail3: number } {
  let s = 0;
  let s2 = 0;
  let tail = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
    if (Math.abs(x) > 3 * std) tail++;
  }
  const mean = s / v.length;
  const sd = Math.sqrt(s2 / v.length - mean * mean);
  const sorted = Float64Array.from(v).sort();
  let ks = 0;
  for (let i = 0; i < sorted.length; i++) {
    const f = normalCdf(sorted[i] / std);
    ks = Math.max(ks, Math.abs(f - i / sorted.length), Math.abs((i + 1) / sorted.length - f));
  }
  return { mean, sd, ks, tail3: tail / v.length };
}

/** Checks a sample against N(0, std²): mean and sd within 5 standard errors, KS below its 0.1 % critical value. */
function expectNormal(v: Float32Array, std: number): void {
  const n = v.length;
  const st = stats(v, std);
  expect(Math.abs(st.mean)).toBeLessThan((5 * std) / Math.sqrt(n));
  // The sample sd of n normal draws has standard error σ/√(2n).
  expect(Math.abs(st.sd - std)).toBeLessThan((5 * std) / Math.sqrt(2 * n));
  // Kolmogorov's asymptotic critical value at α = 0.001: 1.949/√n.
  expect(st.ks).toBeLessThan(1.949 / Math.sqrt(n));
  // P(|Z| > 3) = 0.0026998: the Ziggurat's tail and wedges are exercised; binomial sd √(p(1−p)/n).
  expect(Math.abs(st.tail3 - 0.0026998)).toBeLessThan(5 * Math.sqrt((0.0027 * 0.9973) / n));
}

function tinyGraph(): ModelGraph {
  const b = new GraphBuilder('tiny');
  const x = b.input('in', [16, 16, 8]);
  const c = b.conv('c', x, 32, 3, { groups: 2 });
  const d = b.depthwise('dw', c, 5, { depthMultiplier: 2, useBias: true });
  const n = b.bn('bn', d);
  const f = b.flatten('flat', n);
  const y = b.dense('fc', f, 10);
  return b.build([y]);
}

describe('seededNormals: the Ziggurat sampler is standard normal', () => {
  it('matches N(0, 1) in mean, sd, KS distance and 3σ tail over 10^6 draws', () => {
    expectNormal(seededNormals(1_000_000, 123), 1);
  });
  it('is reproducible per seed and differs between seeds', () => {
    expect(seededNormals(1000, 5)).toEqual(seededNormals(1000, 5));
    const a = seededNormals(1000, 5);
    const b = seededNormals(1000, 6);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    expect(same).toBe(0);
  });
});

describe('seededWeightStore: He-normal weights in the canonical layouts', () => {
  it.each(ZOO_IDS)(
    '%s: every weight shape is what the analysis and the engine check expect',
    (id) => {
      const graph = getZooGraph(id);
      const analysis = analyzeGraph(graph);
      const weights = seededWeightStore(graph, { seed: 3 });
      // The engine's own shape check (the one user files meet) accepts the store.
      expect(() => checkWeightShapes({ mainFile: id, graph, weights }, analysis)).not.toThrow();
      // Per layer, the values stored equal the analysis's parameter count, and the total the published one.
      let total = 0;
      for (const layer of analysis.layers) {
        const n = (weights.get(layer.id) ?? []).reduce((s, t) => s + count(t.shape), 0);
        expect([layer.id, n]).toEqual([layer.id, layer.params.total]);
        total += n;
      }
      expect(total).toBe(PUBLISHED[id]);
      for (const tensors of weights.values()) for (const t of tensors) expect(t.data.length).toBe(count(t.shape));
    },
    60_000,
  );

  it('is deterministic per seed; other seeds differ in every weighted layer', () => {
    const graph = getZooGraph('mobilenetv2');
    const a = seededWeightStore(graph, { seed: 11 });
    const b = seededWeightStore(graph, { seed: 11 });
    const c = seededWeightStore(graph, { seed: 12 });
    for (const [name, tensors] of a) {
      tensors.forEach((t, i) => {
        expect([t.name, sameBytes(b.get(name)![i].data, t.data)]).toEqual([t.name, true]);
        if (/kernel/.test(t.name)) expect([t.name, sameBytes(c.get(name)![i].data, t.data)]).toEqual([t.name, false]);
      });
    }
    // No seed = the default seed.
    const conv1 = (seed?: number) => seededWeightStore(graph, seed === undefined ? {} : { seed }).get('Conv1')![0].data;
    expect(sameBytes(conv1(), conv1(42))).toBe(true);
  });

  it('gives a layer the same weights whatever else is in the graph', () => {
    const full = seededWeightStore(tinyGraph(), { seed: 9 });
    const b = new GraphBuilder('other');
    const x = b.input('in', [16, 16, 8]);
    const c = b.conv('c', x, 32, 3, { groups: 2 });
    const alone = seededWeightStore(b.build([c]), { seed: 9 });
    expect(sameBytes(alone.get('c')![0].data, full.get('c')![0].data)).toBe(true);
  });

  it('draws N(0, 2/fan_in) on a large dense layer (VGG-16 fc2, 16.8 M weights)', () => {
    const fc2 = getZooGraph('vgg16').nodes.find((n) => n.name === 'fc2')!;
    const b = new GraphBuilder('fc2');
    const f = b.flatten('flat', b.input('in', [1, 1, 4096]));
    const g: ModelGraph = {
      name: 'fc2',
      nodes: [...b.build([f]).nodes, { ...fc2, inputs: ['flat'] }],
      outputs: ['fc2'],
    };
    const [kernel, bias] = seededWeightStore(g, { seed: 1 }).get('fc2')!;
    expect(kernel.shape).toEqual([4096, 4096]);
    // Every 8th value (2.1 M): KS sorting the whole layer would dominate the test's time.
    const sample = kernel.data.filter((_, i) => i % 8 === 0);
    expectNormal(sample, Math.sqrt(2 / 4096));
    expect(bias.data.every((v) => v === 0)).toBe(true);
  }, 60_000);

  it('uses each op’s fan-in: grouped conv kh·kw·C_in/groups, depthwise kh·kw, dense in; BN at Keras’s start', () => {
    const w = seededWeightStore(tinyGraph(), { seed: 2 });
    const [ck] = w.get('c')!;
    expect(ck.shape).toEqual([3, 3, 4, 32]);
    expect(Math.abs(stats(ck.data, 1).sd - Math.sqrt(2 / 36))).toBeLessThan(0.05 * Math.sqrt(2 / 36));
    const [dk, db] = w.get('dw')!;
    expect(dk.shape).toEqual([5, 5, 32, 2]);
    expect(db.shape).toEqual([64]);
    expect(Math.abs(stats(dk.data, 1).sd - Math.sqrt(2 / 25))).toBeLessThan(0.06 * Math.sqrt(2 / 25));
    const bn = w.get('bn')!;
    expect(bn.map((t) => t.shape)).toEqual([[64], [64], [64], [64]]);
    expect(bn.map((t) => [...new Set(t.data)])).toEqual([[1], [0], [0], [1]]);
    const [fk] = w.get('fc')!;
    // 16 → 14 (3×3 valid) → 10 (5×5 valid): 10·10·64 inputs.
    expect(fk.shape).toEqual([10 * 10 * 64, 10]);
    expect(Math.abs(stats(fk.data, 1).sd - Math.sqrt(2 / 6400))).toBeLessThan(0.05 * Math.sqrt(2 / 6400));
  });
});
