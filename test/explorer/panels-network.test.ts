/**
 * The side panel explains the wiring: an add names the two layers it adds (clickable), a pool says max or
 * average exactly, an Inception module's concatenation shows its branch widths beside its 1×1 saving, and every
 * model opens on its first layer with weights. The models are the real zoo graphs and the bundled MobileNetV2,
 * loaded through the session store from a scripted engine that answers with their analysis.
 *
 * Oracles are independent of the code: the layer names and wiring of Keras Applications' ResNet50 source
 * (`block1`: `Add(name=name + '_add')([shortcut, x])` with shortcut = `name + '_0_bn'`, x = `name + '_3_bn'`),
 * the branch widths of GoogLeNet's Table 1 (Szegedy et al., CVPR 2015; torchvision's `Inception(...)` arguments
 * are the same numbers), Keras Applications' InceptionV3 `mixed0` (64, 64, 96, 32) and hand computation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import ArithmeticPanel from '../../renderer/src/explorer/components/ArithmeticPanel.vue';
import LayerPanel from '../../renderer/src/explorer/components/LayerPanel.vue';
import { analyzeGraph, graphFromKerasTopology } from '../../renderer/src/analysis';
import { getZooGraph, ZOO_IDS } from '../../renderer/src/zoo';
import { catalogEntries } from '../../renderer/src/engine/catalog';
import { openOnnx } from '../../renderer/src/formats/onnx';
import type { EngineReply, EngineRequest, ModelSummary, PortLike } from '../../common/engine-protocol';
import type { ModelGraph } from '../../renderer/src/zoo';
import { fakeBridge, settle } from './fake-engine';

const root = resolve(__dirname, '../..');

/** The graph a model id stands for: a zoo architecture, or a bundled model's own model.json. */
function graphOf(id: string): ModelGraph {
  if (id === 'mobilenetv2-pretrained' || id === 'inceptionv3-pretrained') {
    const folder = id.replace('-pretrained', '');
    const file = resolve(root, 'resources/models', folder, 'model.json');
    return graphFromKerasTopology(JSON.parse(readFileSync(file, 'utf8')), `${folder}/model.json`);
  }
  return getZooGraph(id);
}

const summaries = new Map<string, ModelSummary>();
/** What the engine sends for a model: its entry, its analysis and every layer but the input, in graph order. */
function summaryOf(id: string): ModelSummary {
  let s = summaries.get(id);
  if (!s) {
    const entry = catalogEntries().find((e) => e.id === id);
    if (!entry) throw new Error(`no catalog entry ${id}`);
    s = summaryFor(entry, graphOf(id));
    summaries.set(id, s);
  }
  return s;
}

function summaryFor(entry: Omit<ModelSummary, 'analysis' | 'frameOrder'>, graph: ModelGraph): ModelSummary {
  const analysis = analyzeGraph(graph);
  return { ...entry, analysis, frameOrder: graph.nodes.filter((n) => n.op !== 'input').map((n) => n.name) };
}

/** An engine that lists the built-in models and loads any of them (summaries only; no passes needed here). */
class CatalogEngine implements PortLike {
  private listeners = new Set<(ev: MessageEvent) => void>();
  addEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.add(l);
  }
  removeEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.delete(l);
  }
  start(): void {}
  private reply(r: EngineReply): void {
    setTimeout(() => this.listeners.forEach((l) => l({ data: r } as MessageEvent)), 0);
  }
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    if (req.type === 'hello')
      this.reply({
        type: 'ready',
        id: req.id,
        backend: 'wasm',
        reason: 'wasm (SIMD, single thread)',
        models: catalogEntries(),
        tfjsVersion: 'test',
      });
    else if (req.type === 'loadModel') this.reply({ type: 'modelLoaded', id: req.id, summary: summaryOf(req.modelId) });
    else if (req.type === 'ping') this.reply({ type: 'pong', id: req.id });
    else if (req.type === 'cancel') this.reply({ type: 'cancelled', id: req.target });
  }
}

async function loaded(id: string) {
  const store = useSessionStore();
  await store.connect(fakeBridge(new CatalogEngine() as never));
  await store.selectModel(id);
  await settle();
  expect(store.summary?.id).toBe(id);
  return store;
}

describe('side panel facts on real networks', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it("ResNet-50's first add names the two layers it adds, shortcut first, and each is one click away", async () => {
    const store = await loaded('resnet50');
    const w = mount(ArithmeticPanel, { props: { layerId: 'conv2_block1_add' } });
    const list = w.get('[data-testid="merge-inputs"]');
    const items = list.findAll('li');
    expect(items.map((i) => i.attributes('data-layer-id'))).toEqual(['conv2_block1_0_bn', 'conv2_block1_3_bn']);
    expect(w.text()).toMatch(/adds\s*conv2_block1_0_bn — 256 ch · projection shortcut\s*conv2_block1_3_bn/);
    // 4·64 = 256 channels each; the 0_bn path is the 1×1 projection conv, the 3_bn path the bottleneck.
    expect(items[0].text()).toContain('256 ch');
    expect(items[0].text()).toContain('projection shortcut');
    expect(items[1].text()).toContain('residual branch');
    expect(w.text().replace(/\s+/g, ' ')).toContain(
      'A residual connection: "conv2_block1_3_bn" ends the residual branch F(x), and the shortcut x through a 1×1 ' +
        'projection conv ("conv2_block1_0_bn")',
    );
    await items[1].get('button').trigger('click');
    expect(store.focusedLayer?.id).toBe('conv2_block1_3_bn');

    // The second block has no projection: its shortcut is the first block's output itself.
    const w2 = mount(ArithmeticPanel, { props: { layerId: 'conv2_block2_add' } });
    const items2 = w2.get('[data-testid="merge-inputs"]').findAll('li');
    expect(items2.map((i) => i.attributes('data-layer-id'))).toEqual(['conv2_block1_out', 'conv2_block2_3_bn']);
    expect(items2[0].text()).toContain('identity shortcut');
    expect(w2.text()).toContain(`the shortcut: the block's input x itself ("conv2_block1_out")`);
  });

  it('a DenseNet concatenation names the layers it stacks and the channels each brings; it is no Inception module', async () => {
    await loaded('densenet121');
    const w = mount(ArithmeticPanel, { props: { layerId: 'conv2_block2_concat' } });
    const items = w.get('[data-testid="merge-inputs"]').findAll('li');
    // Keras DenseNet: concatenate([x, x1]) — the block's stack so far (64 + 32 = 96) and the new layer's 32.
    expect(items.map((i) => i.attributes('data-layer-id'))).toEqual(['conv2_block1_concat', 'conv2_block2_2_conv']);
    expect(items[0].text()).toContain('96 ch');
    expect(items[1].text()).toContain('32 ch');
    expect(w.text()).toMatch(/concatenates/);
    expect(w.find('[data-testid="branch-widths"]').exists()).toBe(false);
  });

  it('a pool says max or average exactly, windowed or global, with its window, stride and padding', async () => {
    await loaded('googlenet');
    const max = mount(ArithmeticPanel, { props: { layerId: 'pool1' } });
    // torchvision: MaxPool2d(3, stride=2, ceil_mode=True) on 112×112 → 56×56; here TF 'same': 0 before, 1 after.
    expect(max.get('[data-testid="pool-operation"]').text()).toBe(
      "max pooling · 3×3 window · stride 2×2 · padding 'same' (0 top, 1 bottom, 0 left, 1 right)",
    );
    expect(max.text()).toContain('max pooling keeps the largest value of each window');
    expect(max.text()).not.toMatch(/average/);
    const gap = mount(ArithmeticPanel, { props: { layerId: 'avg_pool' } });
    // torchvision: AdaptiveAvgPool2d((1, 1)) on inception5b's 7×7×1024.
    expect(gap.get('[data-testid="pool-operation"]').text()).toBe(
      'global average pooling over all 7×7 positions of each channel',
    );
    expect(gap.text()).toContain('averaged over all 49 positions');
    // The panel's header says which pool, too.
    const store = useSessionStore();
    const panel = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    store.focusLayer('pool1');
    await settle(1);
    expect(panel.get('[data-testid="layer-kind"]').text()).toBe('max pool');
    store.focusLayer('avg_pool');
    await settle(1);
    expect(panel.get('[data-testid="layer-kind"]').text()).toBe('global average pool');
  });

  it("DenseNet's transition pool is a 2×2 average pool with stride 2 and no padding", async () => {
    await loaded('densenet121');
    const w = mount(ArithmeticPanel, { props: { layerId: 'pool2_pool' } });
    expect(w.get('[data-testid="pool-operation"]').text()).toBe(
      'average pooling · 2×2 window · stride 2×2 · no padding',
    );
    expect(w.text()).toContain('average pooling takes the mean of each window');
  });

  it("GoogLeNet's Inception modules show the published branch widths, in order, beside the 1×1 saving", async () => {
    await loaded('googlenet');
    // Szegedy et al. 2015, Table 1: #1×1, #3×3, #5×5, pool proj (torchvision: ch1x1, ch3x3, ch5x5, pool_proj).
    const table: Record<string, [number, number, number, number]> = {
      inception3a: [64, 128, 32, 32],
      inception3b: [128, 192, 96, 64],
      inception4a: [192, 208, 48, 64],
      inception4b: [160, 224, 64, 64],
      inception4c: [128, 256, 64, 64],
      inception4d: [112, 288, 64, 64],
      inception4e: [256, 320, 128, 128],
      inception5a: [256, 320, 128, 128],
      inception5b: [384, 384, 128, 128],
    };
    for (const [id, widths] of Object.entries(table)) {
      const w = mount(ArithmeticPanel, { props: { layerId: id } });
      const sum = widths.reduce((a, b) => a + b, 0);
      expect(w.get('[data-testid="branch-widths"]').text()).toMatch(
        new RegExp(`^${widths.join(' · ')}\\s*= ${sum} channels`),
      );
      w.unmount();
    }

    const w = mount(ArithmeticPanel, { props: { layerId: 'inception3a' } });
    const items = w.get('[data-testid="merge-inputs"]').findAll('li');
    expect(items.map((i) => i.text().replace(/\s+/g, ' '))).toEqual([
      'inception3a_1x1_relu — 1×1, 64 ch',
      'inception3a_3x3_relu — 1×1 → 3×3, 128 ch',
      'inception3a_b3_3x3_relu — 1×1 → 3×3, 32 ch',
      'inception3a_pool_proj_relu — 3×3 max pool → 1×1, 32 ch',
    ]);
    // By hand, on pool2's 192 channels: 1·1·192·96 + 3·3·96·128 = 129,024 vs 3·3·192·128 = 221,184, and
    // 1·1·192·16 + 3·3·16·32 = 7,680 vs 3·3·192·32 = 55,296: 136,704 instead of 276,480, 139,776 fewer (50.6%).
    const text = w.text();
    expect(text).toContain('1×1 reductions in this module');
    expect(text).toContain('136,704 weights instead of 276,480: saves 139,776 (50.6%); 2.0× fewer');
    // The per-layer saving the panel already showed stays on the 3×3 reduce (41.7% for that branch alone).
    const reduce = mount(ArithmeticPanel, { props: { layerId: 'inception3a_3x3_reduce_conv' } });
    expect(reduce.text()).toContain('saves 92,160 weights (41.7%)');
  });

  it("Inception-v3's mixed0 shows Keras Applications' branch widths, the 5×5 and double-3×3 paths named", async () => {
    await loaded('inceptionv3');
    const w = mount(ArithmeticPanel, { props: { layerId: 'mixed0' } });
    // keras/applications/inception_v3.py: branch1x1 64, branch5x5 48 → 64, branch3x3dbl 64 → 96 → 96, pool → 32.
    expect(w.get('[data-testid="branch-widths"]').text()).toMatch(/^64 · 64 · 96 · 32\s*= 256 channels/);
    const paths = w
      .get('[data-testid="merge-inputs"]')
      .findAll('li')
      .map((i) =>
        i
          .text()
          .replace(/\s+/g, ' ')
          .replace(/^.* — /, ''),
      );
    expect(paths).toEqual(['1×1, 64 ch', '1×1 → 5×5, 64 ch', '1×1 → 3×3 → 3×3, 96 ch', '3×3 avg pool → 1×1, 32 ch']);
    // mixed9's 3×3 branch splits into a 1×3 and a 3×1 side by side (its own concatenation, mixed9_0).
    const m9 = mount(ArithmeticPanel, { props: { layerId: 'mixed9' } });
    expect(m9.get('[data-testid="branch-widths"]').text()).toMatch(/^320 · 768 · 768 · 192\s*= 2048 channels/);
    expect(m9.text()).toContain('— 1×1 → 1×3 ‖ 3×1, 768 ch');
  });

  it('every built-in model opens on its first layer with weights, a conv, not the input padding', async () => {
    for (const id of [...ZOO_IDS, 'mobilenetv2-pretrained', 'inceptionv3-pretrained']) {
      setActivePinia(createPinia());
      const store = await loaded(id);
      const first = store.focusedLayer;
      expect(first?.kind, id).toBe('conv');
      // Nothing before it in the stepping order has weights (only padding, if anything).
      const before = store.frameLayers.slice(0, store.focusIndex);
      expect(
        before.every((l) => l.params.total === 0),
        id,
      ).toBe(true);
      const panel = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
      expect(panel.get('[data-testid="focused-layer"]').text()).toBe(first?.name);
      panel.unmount();
    }
    // Hand-checked against the model files: ResNet-50 and MobileNetV2 start with a ZeroPadding2D.
    setActivePinia(createPinia());
    expect((await loaded('resnet50')).focusedLayer?.id).toBe('conv1_conv');
    setActivePinia(createPinia());
    expect((await loaded('mobilenetv2-pretrained')).focusedLayer?.id).toBe('Conv1');
  });
});

/**
 * A user's own model: a small PyTorch CNN exported to ONNX at test time, whose definition is the oracle — a
 * MaxPool2d(3, 2, padding=1), a residual add of the pooled map and a conv of it, a concatenation of that sum with
 * a 1×1 conv of it (8 + 4 channels), an AvgPool2d(2), then AdaptiveAvgPool2d(1) (exported as GlobalAveragePool).
 */
const TORCH_NET = `
import sys, torch, torch.nn as nn, torch.nn.functional as F
class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(3, 8, 3, padding=1); s.a = nn.Conv2d(8, 8, 3, padding=1); s.b = nn.Conv2d(8, 4, 1)
        s.mp = nn.MaxPool2d(3, 2, padding=1); s.ap = nn.AvgPool2d(2, 2); s.gap = nn.AdaptiveAvgPool2d(1)
        s.fc = nn.Linear(12, 10)
    def forward(s, x):
        x = s.mp(F.relu(s.conv(x)))
        y = x + s.a(x)
        z = s.ap(torch.cat([y, s.b(y)], 1))
        return s.fc(torch.flatten(s.gap(z), 1))
torch.manual_seed(0)
torch.onnx.export(Net().eval(), torch.zeros(1, 3, 16, 16), sys.argv[1], opset_version=13)
`;

describe("side panel facts on a user's ONNX model (PyTorch export)", () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('names max, average and global average pools, the add with its shortcut, and the concatenation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'panels-onnx-'));
    try {
      const file = join(dir, 'net.onnx');
      const r = spawnSync('/usr/bin/python3', ['-c', TORCH_NET, file], { encoding: 'utf8' });
      expect(r.status, `PyTorch export failed (install python3-torch): ${r.stderr}`).toBe(0);
      const opened = await openOnnx([{ path: 'net.onnx', bytes: new Uint8Array(readFileSync(file)) }]);
      const entry = { ...catalogEntries()[0], id: 'user:net', name: 'net', source: 'user' as const, trained: false };
      summaries.set('user:net', summaryFor(entry, opened.graph));
      const store = await loaded('user:net');
      const layers = store.summary!.analysis.layers;
      const text = (kind: string) =>
        layers
          .filter((l) => l.kind === kind)
          .map((l) =>
            mount(ArithmeticPanel, { props: { layerId: l.id } })
              .get('[data-testid="pool-operation"]')
              .text(),
          );
      expect(text('pool')).toEqual([
        'max pooling · 3×3 window · stride 2×2 · padding (1 top, 1 bottom, 1 left, 1 right)',
        'average pooling · 2×2 window · stride 2×2 · no padding',
      ]);
      expect(text('globalpool')).toEqual(['global average pooling over all 4×4 positions of each channel']);

      const add = layers.find((l) => l.kind === 'add')!;
      const pool = layers.find((l) => l.kind === 'pool')!;
      const addItems = mount(ArithmeticPanel, { props: { layerId: add.id } })
        .get('[data-testid="merge-inputs"]')
        .findAll('li');
      // x + s.a(x): the max pool's output is the identity shortcut, the conv the residual branch.
      expect(addItems.map((i) => i.attributes('data-layer-id'))).toEqual([pool.id, add.inputs[1]]);
      expect(addItems[0].text()).toContain('8 ch · identity shortcut');
      expect(addItems[1].text()).toContain('8 ch · residual branch');

      const cat = layers.find((l) => l.kind === 'concat')!;
      const catPanel = mount(ArithmeticPanel, { props: { layerId: cat.id } });
      expect(catPanel.text()).toMatch(/concatenates/);
      const catItems = catPanel.get('[data-testid="merge-inputs"]').findAll('li');
      expect(catItems.map((i) => i.attributes('data-layer-id'))).toEqual([add.id, cat.inputs[1]]);
      expect(catItems.map((i) => i.text().replace(/^.* — /, ''))).toEqual(['8 ch', '4 ch']);
      // The 1×1 conv reads the add's output, so this is a dense-style stack, not parallel Inception branches.
      expect(catPanel.find('[data-testid="branch-widths"]').exists()).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
