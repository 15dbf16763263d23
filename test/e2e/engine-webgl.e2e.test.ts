/**
 * The engine's WebGL path in Chromium (SwiftShader here: correct, not fast): the layer frames that
 * the GPU quantizes and packs with the engine's own shaders must equal the wasm path's (CPU
 * quantization) within one quantization step, at full resolution and average-pooled; each
 * full-resolution frame carries its zero count, counted by the GPU min/max reduction, equal to a direct count of
 * the layer's floats read back on webgl; frames stream in layer order; tensors return to their count; a lost WebGL context falls back to wasm without
 * losing the loaded model. Runs the real engine Worker on a small page of its own
 * (test/engine/page, built by test/engine/browser-page.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnginePage, type EnginePage } from '../engine/browser-page';

interface LayerCompare {
  layerId: string;
  shapeA: number[];
  shapeB: number[];
  worstSteps: number;
  bytesOff: number;
  values: number;
}
interface CompareResult {
  first: string;
  webgl: { backend: string; reason: string };
  outcomes: { backend: string; stats: { frames: number; numTensors: number; bytesSent: number; values: number } }[];
  layers: LayerCompare[];
  orderOk: boolean;
}
type CheckWindow = {
  engineCheck: {
    compareBackends(o: { modelId: string; layers: number; maxSide: number }): Promise<CompareResult>;
    loadOnWebgl(modelId: string): Promise<{
      backend: string;
      phases: string[];
      frames: number;
      layers: number;
      outcome: { backend: string; stats: { frames: number } };
    }>;
    zeroCounts(o: { modelId: string; layers: number }): Promise<{
      webgl: { backend: string; reason: string };
      layers: { layerId: string; zeros: number | null; direct: number; values: number }[];
    }>;
    contextLoss(modelId: string): Promise<{
      before: { backend: string };
      after: { backend: string; stats: { frames: number } };
      announced: string[];
    }>;
  };
};

const MNV2 = 'mobilenetv2-pretrained';
let p: EnginePage;

beforeAll(async () => {
  p = await openEnginePage();
});
afterAll(async () => {
  await p?.close();
});

/**
 * The first `strict` layers must agree within one quantization step (no byte off by more than 1):
 * there the forward passes agree to float rounding, so any larger gap would be the GPU quantize/pack.
 * Deeper layers carry 150 layers of float differences between the WebGL and wasm kernels: within 3
 * steps, and at most 1% of bytes off by more than 1 (a packing error would be off everywhere).
 */
function expectWithinOneStep(r: CompareResult, layers: number, strict = layers) {
  expect(r.first).toBe('wasm');
  expect(r.webgl.backend).toBe('webgl');
  expect(r.outcomes.map((o) => o.backend)).toEqual(['wasm', 'webgl']);
  expect(r.orderOk).toBe(true);
  expect(r.layers).toHaveLength(layers);
  r.layers.forEach((l, i) => {
    expect(l.shapeB, l.layerId).toEqual(l.shapeA);
    if (i < strict) {
      // Dequantized values within one step of the channel's range (plus float rounding), no byte off by more than 1.
      expect(l.worstSteps, l.layerId).toBeLessThanOrEqual(1.001);
      expect(l.bytesOff, l.layerId).toBe(0);
    } else {
      expect(l.worstSteps, l.layerId).toBeLessThanOrEqual(3);
      expect(l.bytesOff, l.layerId).toBeLessThanOrEqual(Math.ceil(l.values / 100));
    }
  });
  // Same frames, same bytes, and tfjs back to the same number of tensors on both backends.
  expect(r.outcomes[1].stats.frames).toBe(r.outcomes[0].stats.frames);
  expect(r.outcomes[1].stats.bytesSent).toBe(r.outcomes[0].stats.bytesSent);
  expect(r.outcomes[1].stats.numTensors).toBe(r.outcomes[0].stats.numTensors);
}

describe('engine on WebGL (GPU quantize + pack)', () => {
  it('full resolution: the first layers equal the wasm path within one quantization step', async () => {
    const r = await p.page.evaluate((o) => (window as unknown as CheckWindow).engineCheck.compareBackends(o), {
      modelId: MNV2,
      layers: 8,
      maxSide: 0,
    });
    expect(r.webgl.reason).toMatch(/^webgl: WebGL2 on /);
    expectWithinOneStep(r, 8);
    expect(r.outcomes[1].stats.bytesSent).toBe(r.outcomes[1].stats.values); // one byte per value
  });

  it('full resolution: each frame carries its zero count, equal to a direct count of its floats on webgl', async () => {
    // The RGB input (3 channels), a conv, its BatchNorm and its ReLU6 (many zeros), read back channel by channel.
    const r = await p.page.evaluate((o) => (window as unknown as CheckWindow).engineCheck.zeroCounts(o), {
      modelId: MNV2,
      layers: 4,
    });
    expect(r.webgl.backend).toBe('webgl');
    expect(r.layers.map((l) => l.layerId)).toEqual(['Conv1_pad', 'Conv1', 'bn_Conv1', 'Conv1_relu']);
    for (const l of r.layers) expect([l.layerId, l.zeros]).toEqual([l.layerId, l.direct]);
    // A ReLU layer has zeros, and not every value is one: the test has teeth.
    const relu = r.layers[3];
    expect(relu.direct).toBeGreaterThan(0);
    expect(relu.direct).toBeLessThan(relu.values);
  });

  it('average-pooled overview (maxSide 16): every layer agrees with the wasm path, the first ones within one step', async () => {
    const r = await p.page.evaluate((o) => (window as unknown as CheckWindow).engineCheck.compareBackends(o), {
      modelId: MNV2,
      layers: 161,
      maxSide: 16,
    });
    expectWithinOneStep(r, 161, 8);
    expect(r.layers[1].shapeA).toEqual([16, 16, 32]);
  });

  it('loads a model fresh on WebGL (parallel shader compilation, extraction shaders warmed up) and streams it', async () => {
    const r = await p.page.evaluate(
      (m) => (window as unknown as CheckWindow).engineCheck.loadOnWebgl(m),
      'mobilenetv2',
    );
    expect(r.backend).toBe('webgl');
    expect(r.phases).toEqual(['build', 'compile']);
    expect(r.outcome.backend).toBe('webgl');
    expect(r.frames).toBe(r.layers);
    expect(r.outcome.stats.frames).toBe(r.layers);
  });

  it('a lost WebGL context falls back to wasm and the loaded model keeps working', async () => {
    const r = await p.page.evaluate((m) => (window as unknown as CheckWindow).engineCheck.contextLoss(m), MNV2);
    expect(r.before.backend).toBe('webgl');
    expect(r.after.backend).toBe('wasm');
    expect(r.after.stats.frames).toBe(161);
    expect(r.announced.some((a) => /^wasm: .*WebGL context was lost/.test(a))).toBe(true);
    expect(p.errors).toEqual([]);
  });
});
