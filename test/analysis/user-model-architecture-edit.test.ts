/**
 * The what-if editor on models opened from files (a Keras HDF5 and an ONNX fixture, read by the format registry
 * as the engine reads them): the model's own graph is edited, the edited numbers equal the arithmetic done by hand
 * here (params K·K·C_in·C_out + C_out, sizes (I + 2P − K)/S + 1), the edit file carries the graph and reads back
 * the same, a hostile graph is refused naming the file, the layer and the field, and "Run it" through the Node
 * engine (wasm) streams frames of the edited shapes — tfjs runs the edited convolutions itself, an independent
 * check of the editor's shapes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EditSession } from '../../renderer/src/analysis/edit-session';
import { layerMarks } from '../../renderer/src/analysis/edit';
import { EditFileError, parseEditFile, serializeEditFile } from '../../renderer/src/analysis/edit-file';
import type { ModelGraph } from '../../renderer/src/analysis/graph';
import { openModelFiles } from '../../renderer/src/formats';
import { graphForFile, graphFromJson } from '../../renderer/src/analysis/edit-graph';
import { getZooGraph, ZOO_IDS } from '../../renderer/src/zoo';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput } from '../../common/engine-protocol';
import { parseReply } from '../../common/engine-protocol-schema';
import { RESOURCES, collector } from '../engine/helpers';

const FIXTURES = new URL('../fixtures/models/', import.meta.url);

async function open(file: string): Promise<ModelGraph> {
  const bytes = new Uint8Array(readFileSync(new URL(file, FIXTURES)));
  return (await openModelFiles([{ path: file, bytes }], file)).graph;
}

/** One fixture, one conv's kernel changed, and what the change must give, worked out by hand. */
interface Case {
  file: string;
  input: [number, number, number];
  layer: string;
  kernel: number;
  /** K·K·C_in·C_out + C_out before and after. */
  params: [number, number];
  /** Full-resolution output shapes of the edited network, layer by layer, computed by hand. */
  shapes: Record<string, number[]>;
}

const CASES: Case[] = [
  {
    // GTSRB classifier: 30×30×3 → conv2d 5×5 valid ×16 → 26×26×16 → conv2d_1 (here 3×3 valid ×32).
    file: 'kh5-ayaan-gtsrb-bn.h5',
    input: [30, 30, 3],
    layer: 'conv2d_1',
    kernel: 3,
    // 5·5·16·32 + 32 = 12,832 → 3·3·16·32 + 32 = 4,640.
    params: [12_832, 4_640],
    shapes: {
      conv2d: [26, 26, 16],
      // (26 + 2·0 − 3)/1 + 1 = 24 (was (26 − 5)/1 + 1 = 22).
      conv2d_1: [24, 24, 32],
      // 2×2 pool, stride 2: (24 − 2)/2 + 1 = 12.
      max_pooling2d: [12, 12, 32],
      // (12 − 3)/1 + 1 = 10, then (10 − 3)/1 + 1 = 8, pooled (8 − 2)/2 + 1 = 4.
      conv2d_2: [10, 10, 64],
      conv2d_3: [8, 8, 128],
      max_pooling2d_1: [4, 4, 128],
      global_average_pooling2d: [128],
    },
  },
  {
    // LeNet in ONNX: 28×28×1 → conv "11" 5×5, pads 2 on every side, ×6 (here 3×3 with the same pads).
    file: 'onnx-ccoltong-lenet-batch10.onnx',
    input: [28, 28, 1],
    layer: '11',
    kernel: 3,
    // 5·5·1·6 + 6 = 156 → 3·3·1·6 + 6 = 60.
    params: [156, 60],
    shapes: {
      // (28 + 2·2 − 3)/1 + 1 = 30.
      '11': [30, 30, 6],
      // 2×2 pool, stride 2: (30 − 2)/2 + 1 = 15; conv "14" 5×5 valid: 15 − 5 + 1 = 11; pool ⌊(11 − 2)/2⌋ + 1 = 5.
      '13': [15, 15, 6],
      '14': [11, 11, 16],
      '16': [5, 5, 16],
    },
  },
];

describe.each(CASES)('editing $file, a model opened from a file', (c) => {
  let graph: ModelGraph;
  let session: EditSession;
  beforeAll(async () => {
    graph = await open(c.file);
    session = new EditSession(graph, { input: [c.input[0], c.input[1]] });
    session.setField({ layer: c.layer, field: 'kernel', value: c.kernel });
  });

  it('lists the model’s own convs and dense layers as editable, with no knobs', () => {
    expect(session.zooId).toBeNull();
    expect(session.knobDefs).toEqual([]);
    const convs = graph.nodes.filter((n) => n.op === 'conv').map((n) => n.name);
    expect(convs).toContain(c.layer);
    expect(session.base.nodes.map((n) => n.name)).toEqual(graph.nodes.map((n) => n.name));
  });

  it('gives the hand-computed params and output sizes, and marks the edited conv', () => {
    const r = session.update();
    expect(r.broken).toBeNull();
    const before = session.baseAnalysis.layers.find((l) => l.name === c.layer)!;
    const after = r.analysis!.layers.find((l) => l.name === c.layer)!;
    expect([before.params.total, after.params.total]).toEqual(c.params);
    for (const [name, shape] of Object.entries(c.shapes))
      expect(r.analysis!.layers.find((l) => l.name === name)?.outputShape, name).toEqual(shape);
    const delta = c.params[1] - c.params[0];
    expect(r.diff!.totals.paramsAfter - r.diff!.totals.paramsBefore).toBe(delta);
    const mark = layerMarks(session.base, r).get(c.layer)!;
    expect(mark.text).toContain(`k 5→${c.kernel}`);
    expect(mark.text).toContain(`−${(-delta).toLocaleString('en-US')} params`);
  });

  it('a kernel larger than the map breaks at that layer, with the formula', () => {
    const s = new EditSession(graph, { input: [c.input[0], c.input[1]] });
    s.setField({ layer: c.layer, field: 'kernel', value: 40 });
    const r = s.update();
    expect(r.broken?.layer).toBe(c.layer);
    expect(r.broken?.problem).toContain('below 1×1');
    expect(layerMarks(s.base, r)).toEqual(new Map([[c.layer, expect.objectContaining({ broken: true })]]));
  });

  it('the edit file carries the graph and reads back the same edit', () => {
    const text = serializeEditFile(session.toEdit());
    const spec = parseEditFile(text, 'mine-edited.json');
    expect(spec.graph).toBeDefined();
    expect(spec.edits).toEqual([{ layer: c.layer, field: 'kernel', value: c.kernel }]);
    const again = new EditSession(spec.graph!);
    for (const e of spec.edits) again.setField(e);
    expect(again.update().analysis!.totals).toEqual(session.update().analysis!.totals);
  });
});

describe('a model whose input size is open (None × None in Keras)', () => {
  it('is edited at the size the engine ran it at, and its edit file stores that size', () => {
    const g: ModelGraph = {
      name: 'open',
      nodes: [
        { name: 'in', op: 'input', inputs: [], shape: [null, null, 3] },
        {
          name: 'c',
          op: 'conv',
          inputs: ['in'],
          kernel: [3, 3],
          strides: [2, 2],
          padding: 'valid',
          dilation: [1, 1],
          useBias: true,
          filters: 8,
        },
      ],
      outputs: ['c'],
    };
    const s = new EditSession(g, { input: [33, 65] });
    // (33 − 3)/2 + 1 = 16, (65 − 3)/2 + 1 = 32.
    expect(s.baseAnalysis.layers.find((l) => l.name === 'c')?.outputShape).toEqual([16, 32, 8]);
    const spec = parseEditFile(serializeEditFile(s.toEdit()), 'open-edited.json');
    expect(spec.graph?.nodes[0]).toMatchObject({ op: 'input', shape: [33, 65, 3] });
    expect(g.nodes[0]).toMatchObject({ shape: [null, null, 3] });
  });
});

describe('a graph in an edit file is checked like any hostile input', () => {
  it('every zoo graph and every fixture model reads back as written (the checks accept the whole IR)', async () => {
    const fixtures = readdirSync(FIXTURES).filter((f) => !f.endsWith('.txt'));
    const graphs = [...ZOO_IDS.map((id) => getZooGraph(id)), ...(await Promise.all(fixtures.map(open)))];
    expect(graphs.length).toBe(ZOO_IDS.length + fixtures.length);
    for (const g of graphs) {
      const stored = graphForFile(g);
      expect(graphFromJson(JSON.parse(JSON.stringify(stored)), 'x.json'), g.name).toEqual(stored);
    }
  });

  const file = (graph: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      format: 'feature-map-explorer/architecture-edit',
      version: 1,
      base: 'mine.h5',
      edits: [],
      graph,
      ...extra,
    });
  const conv = {
    name: 'c',
    op: 'conv',
    inputs: ['in'],
    kernel: [3, 3],
    strides: [1, 1],
    padding: 'same',
    dilation: [1, 1],
    useBias: true,
    filters: 4,
  };
  const input = { name: 'in', op: 'input', inputs: [], shape: [8, 8, 3] };
  const graph = (nodes: unknown[]) => ({ name: 'mine', nodes, outputs: ['c'] });

  it('a well-formed graph reads back as it was written', () => {
    expect(parseEditFile(file(graph([input, conv])), 'e.json').graph).toEqual(graph([input, conv]));
  });

  it.each<[string, unknown, Record<string, unknown>, RegExp]>([
    [
      'a field of the wrong kind',
      graph([input, { ...conv, kernel: 'x' }]),
      {},
      /layer "c" \(conv\): "kernel" must be a pair/,
    ],
    [
      'a missing field',
      graph([input, { ...conv, filters: undefined }]),
      {},
      /layer "c" \(conv\): "filters" must be a whole number/,
    ],
    ['an unknown op', graph([input, { ...conv, op: 'lstm' }]), {}, /layer "c": unknown op "lstm"/],
    [
      'an unknown activation',
      graph([input, { name: 'a', op: 'activation', inputs: ['in'], fn: 'eval' }]),
      {},
      /unknown function "eval"/,
    ],
    ['no layers', { name: 'mine', nodes: [], outputs: [] }, {}, /"graph.nodes" must be a non-empty list/],
    ['knobs beside a graph', graph([input, conv]), { knobs: { alpha: 1 } }, /presets and knobs apply to the built-in/],
  ])('refuses %s, naming the file', (_what, g, extra, message) => {
    expect(() => parseEditFile(file(g, extra), 'bad.json')).toThrow(EditFileError);
    expect(() => parseEditFile(file(g, extra), 'bad.json')).toThrow(/^bad\.json: /);
    expect(() => parseEditFile(file(g, extra), 'bad.json')).toThrow(message);
  });
});

describe('Run it: an edited file model through the engine', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = createNodeEngine({ warmUp: false });
    await engine.hello(RESOURCES, ['wasm']);
  }, 120_000);
  afterAll(async () => {
    await engine.dispose();
  });

  it.each(CASES)('$file: seeded, marked untrained, frames of the edited shapes', async (c) => {
    const s = new EditSession(await open(c.file), { input: [c.input[0], c.input[1]] });
    s.setField({ layer: c.layer, field: 'kernel', value: c.kernel });
    const bytes = new TextEncoder().encode(serializeEditFile(s.toEdit()));
    const name = `${c.file}-edited.json`;
    const summary = await engine.loadUserModel({
      name,
      files: [{ path: name, bytes: bytes.buffer.slice(0) as ArrayBuffer }],
    });
    expect(summary.trained).toBe(false);
    expect(summary.format).toBe('architecture-edit');
    expect(summary.analysis.totals.params).toBe(s.update().analysis!.totals.params);
    const [h, w] = c.input;
    const data = new Uint8ClampedArray(h * w * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    const image: ImageInput = { kind: 'rgba', name: 'noise.rgba', width: w, height: h, data };
    const { frames, sink } = collector();
    await engine.analyze({ modelId: summary.id, image }, sink);
    for (const [layer, shape] of Object.entries(c.shapes))
      expect(frames.find((f) => f.layerId === layer)?.fullShape, layer).toEqual(shape);

    // The summary may carry the model's graph across the port (what the editor edits); a malformed one is refused.
    const graph = s.toEdit().graph!;
    expect(parseReply({ type: 'modelLoaded', id: 1, summary: { ...summary, graph } }).ok).toBe(true);
    const bad = parseReply({ type: 'modelLoaded', id: 1, summary: { ...summary, graph: { ...graph, nodes: [{}] } } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problem).toContain('summary.graph must be a layer graph');
  });

  it.each(CASES)(
    '$file opened as it is: its summary carries the graph the editor edits, with the engine’s totals',
    async (c) => {
      const bytes = readFileSync(new URL(c.file, FIXTURES));
      const summary = await engine.loadUserModel({
        name: c.file,
        files: [
          {
            path: c.file,
            bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
          },
        ],
      });
      expect(summary.graph).toBeDefined();
      const s = new EditSession(graphFromJson(summary.graph, c.file), { input: [c.input[0], c.input[1]] });
      const analysis = s.update().analysis!;
      expect(analysis.totals.params).toBe(summary.analysis.totals.params);
      // The hand-computed K·K·C_in·C_out + C_out of the layer the cases edit, before any edit.
      expect(analysis.layers.find((l) => l.id === c.layer)?.params.total).toBe(c.params[0]);
    },
  );
});
