/**
 * Shared fixtures of the engine tests, all generated here (nothing binary is checked in): a tiny
 * layers model with known weights, a tiny graph model, PNG/JPEG encoders, a sink that collects frames.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { AnalyzeSink } from '../../renderer/src/engine/engine';
import type { LayerFrame, UserModelFiles } from '../../common/engine-protocol';

export const RESOURCES = fileURLToPath(new URL('../../resources/', import.meta.url));
export const SAMPLE = resolve(RESOURCES, 'samples/astronaut.png');

/** Deterministic pseudo-random values in [-1, 1) (mulberry32). */
export function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** The fixture model's geometry: input H × W × 3, conv 3×3 'same' with F filters and ReLU, avg-pool 2, dense 4. */
export const FIX = { H: 5, W: 6, C: 3, F: 4, units: 4 } as const;

export interface FixtureModel {
  files: UserModelFiles;
  json: Record<string, unknown>;
  /** Conv kernel [3][3][C][F] flattened (tfjs layout), bias [F]. */
  kernel: Float32Array;
  bias: Float32Array;
}

/** Builds the fixture layers model with known weights and saves it as model.json + weights.bin. */
export async function fixtureModel(name = 'fixture'): Promise<FixtureModel> {
  const { H, W, C, F, units } = FIX;
  const model = tf.sequential({
    name: 'fixture',
    layers: [
      tf.layers.conv2d({
        name: 'conv',
        inputShape: [H, W, C],
        filters: F,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.averagePooling2d({ name: 'pool', poolSize: 2 }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ name: 'dense', units }),
    ],
  });
  const kernel = seeded(3 * 3 * C * F, 7);
  const bias = seeded(F, 11).map((v) => v * 0.1);
  const dk = seeded(2 * 3 * F * units, 13);
  const db = seeded(units, 17);
  model.setWeights([
    tf.tensor(kernel, [3, 3, C, F]),
    tf.tensor(bias, [F]),
    tf.tensor(dk, [2 * 3 * F, units]),
    tf.tensor(db, [units]),
  ]);
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const art = saved! as tf.io.ModelArtifacts;
  const json = {
    format: 'layers-model',
    generatedBy: 'test/engine/helpers.ts',
    modelTopology: art.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
  };
  return { files: modelFiles(name, json, { 'weights.bin': art.weightData as ArrayBuffer }), json, kernel, bias };
}

/** model.json (as given) plus shards → UserModelFiles. */
export function modelFiles(name: string, json: unknown, shards: Record<string, ArrayBuffer>): UserModelFiles {
  const enc = new TextEncoder().encode(JSON.stringify(json));
  return {
    name,
    files: [
      { path: 'model.json', bytes: enc.buffer.slice(enc.byteOffset, enc.byteOffset + enc.byteLength) as ArrayBuffer },
      ...Object.entries(shards).map(([path, bytes]) => ({ path, bytes })),
    ],
  };
}

/** Input pixels of the fixture: deterministic RGBA, opaque, FIX.W × FIX.H. */
export function fixturePixels(): Uint8ClampedArray {
  const { H, W } = FIX;
  const px = new Uint8ClampedArray(W * H * 4);
  const r = seeded(W * H * 3, 3);
  for (let p = 0; p < W * H; p++) {
    for (let c = 0; c < 3; c++) px[p * 4 + c] = Math.round((r[p * 3 + c] + 1) * 127.5);
    px[p * 4 + 3] = 255;
  }
  return px;
}

/**
 * The fixture's conv layer computed by hand: 'same' padding (one zero pixel each side for 3×3,
 * stride 1), bias, ReLU. `input` is NHWC without the batch axis.
 */
export function handConv(input: Float32Array, kernel: Float32Array, bias: Float32Array): Float32Array {
  const { H, W, C, F } = FIX;
  const out = new Float32Array(H * W * F);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let f = 0; f < F; f++) {
        let s = bias[f];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const iy = y + ky - 1;
            const ix = x + kx - 1;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (let c = 0; c < C; c++) s += input[(iy * W + ix) * C + c] * kernel[((ky * 3 + kx) * C + c) * F + f];
          }
        }
        out[(y * W + x) * F + f] = Math.max(0, s);
      }
    }
  }
  return out;
}

/** A graph model (TensorFlow ops): x [-1,4,4,3] → Conv2D 2×2 VALID (2 filters) → Relu. */
export function graphFixture(name = 'graph'): { files: UserModelFiles; weights: Float32Array } {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const dims = (d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const ints = (v: number[]) => ({ list: { i: v.map(String) } });
  const weights = seeded(2 * 2 * 3 * 2, 21);
  const json = {
    format: 'graph-model',
    generatedBy: 'test/engine/helpers.ts',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 4, 4, 3]) } } },
        {
          name: 'w',
          op: 'Const',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([2, 2, 3, 2]) } },
          },
        },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['x', 'w'],
          attr: {
            T: { type: 'DT_FLOAT' },
            strides: ints([1, 1, 1, 1]),
            dilations: ints([1, 1, 1, 1]),
            padding: { s: b64('VALID') },
            data_format: { s: b64('NHWC') },
          },
        },
        { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2, 2, 3, 2], dtype: 'float32' }] }],
  };
  return { files: modelFiles(name, json, { 'w.bin': weights.slice().buffer }), weights };
}

/** PNG bytes of RGBA pixels. */
export function encodePng(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray): ArrayBuffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  const b = PNG.sync.write(png);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** JPEG bytes of RGBA pixels. */
export function encodeJpeg(width: number, height: number, rgba: Uint8Array, quality = 95): ArrayBuffer {
  const b = jpeg.encode({ width, height, data: Buffer.from(rgba) }, quality).data;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A sink that records everything, plus `onFrame` for tests that act mid-pass. */
export function collector(onFrame?: (f: LayerFrame, n: number) => void) {
  const frames: LayerFrame[] = [];
  const images: Parameters<AnalyzeSink['image']>[0][] = [];
  const sink: AnalyzeSink = {
    image: (m) => images.push(m),
    frame: (f) => {
      frames.push(f);
      onFrame?.(f, frames.length);
    },
  };
  return { frames, images, sink };
}
