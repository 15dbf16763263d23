/**
 * Every frame carries `zeros`, the count of exact zeros among the layer's full-resolution float values (the channel
 * health's sparsity), counted in the extraction's min/max pass: by the SIMD kernel (wasm heap, and the cpu backend's
 * standalone copy) and by the JavaScript quantizer. Oracle: a direct count over the floats, read back separately
 * (the engine's `channel` request, every channel of the layer) or built by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { ImageInput, LayerFrame } from '../../common/engine-protocol';
import { quantizeNHWC } from '../../renderer/src/engine/quantize';
import { WasmQuantizer } from '../../renderer/src/engine/wasm-quantize';
import { RESOURCES, SAMPLE, collector, seeded } from './helpers';

const MNV2 = 'mobilenetv2-pretrained';
let engine: Engine;
let photo: ImageInput;

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  await engine.hello(RESOURCES, ['wasm']);
  photo = await imageFromFile(SAMPLE);
}, 60_000);

afterAll(async () => {
  await engine.dispose();
});

/** Zeros in a layer, counted over every channel's floats as the engine reads them back. */
async function directCount(layer: string, C: number): Promise<number> {
  let n = 0;
  for (let c = 0; c < C; c++) for (const v of (await engine.channel(MNV2, layer, c)).values) if (v === 0) n++;
  return n;
}

async function framesOn(backend: 'wasm' | 'cpu', maxSide = 0): Promise<Map<string, LayerFrame>> {
  await engine.setBackend(backend);
  const col = collector();
  await engine.analyze({ modelId: MNV2, image: photo, maxSide }, col.sink);
  return new Map(col.frames.map((f) => [f.layerId, f]));
}

describe('zeros per frame', () => {
  it('wasm: ReLU6 layers, a BN (few zeros) and the global pool equal a direct count on the floats', async () => {
    const frames = await framesOn('wasm');
    for (const layer of ['Conv1_relu', 'block_3_expand_relu', 'block_16_project_BN', 'out_relu']) {
      const f = frames.get(layer)!;
      expect(f.zeros, layer).toBe(await directCount(layer, f.shape[2]));
    }
    expect(frames.get('Conv1_relu')!.zeros).toBeGreaterThan(0); // a ReLU layer has zeros; the test has teeth
  }, 120_000);

  it('cpu backend (the kernel on its own memory): the same counts', async () => {
    const frames = await framesOn('cpu');
    const f = frames.get('block_3_expand_relu')!;
    expect(f.zeros).toBe(await directCount('block_3_expand_relu', f.shape[2]));
    await engine.setBackend('wasm');
  }, 180_000);

  it('a pooled overview carries no count (its values are averages)', async () => {
    const frames = await framesOn('wasm', 8);
    expect(frames.get('Conv1_relu')!.zeros).toBeUndefined();
  }, 120_000);
});

describe('the two quantizers count the same zeros', () => {
  /** Values with zeros, negative zeros, NaN and ordinary numbers at known places. */
  function values(n: number): { v: Float32Array; zeros: number } {
    const r = seeded(n, 9);
    const v = new Float32Array(n);
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(Math.abs(r[i]) * 1000) % 5;
      v[i] = k === 0 ? 0 : k === 1 ? -0 : k === 2 ? Number.NaN : r[i];
      if (k <= 1) zeros++;
    }
    return { v, zeros };
  }

  it('SIMD kernel (C % 4 = 0) and quantizeNHWC in JavaScript (C = 3, C = 1) against a hand count', () => {
    const k = WasmQuantizer.standalone();
    expect(k).not.toBeNull();
    const a = values(7 * 5 * 8);
    expect(k!.quantizeValues(a.v, 7, 5, 8).zeros).toBe(a.zeros);
    expect(quantizeNHWC(a.v, 7, 5, 8).zeros).toBe(a.zeros);
    const b = values(6 * 6 * 3);
    expect(quantizeNHWC(b.v, 6, 6, 3).zeros).toBe(b.zeros);
    const c = values(9 * 4);
    expect(quantizeNHWC(c.v, 9, 4, 1).zeros).toBe(c.zeros);
    expect(quantizeNHWC(a.v, 7, 5, 8, 2).zeros).toBeUndefined();
  });
});
