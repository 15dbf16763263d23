/**
 * Helpers of the ONNX format tests: a minimal ONNX protobuf writer (hand-made models with known weights), running
 * a model through the IR runner, and comparing NHWC activations with NCHW references.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs/minimal.js';
import * as tf from '@tensorflow/tfjs';
import type { IRRunner } from '../../renderer/src/engine/ir-runner';

/** What onnx_oracle.py writes. */
export interface Manifest {
  models: {
    name: string;
    files: string[];
    opset: number;
    inputShape: number[];
    input: string;
    output: { tensor: string; shape: number[]; bin: string };
    layers: { module: string; node: string; tensor: string; shape: number[]; bin: string }[];
    params: number;
    /** The model takes NHWC images (input.bin is NHWC). */
    nhwc?: boolean;
  }[];
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Runs the whole model once and keeps the outputs of `keep` layers as float arrays. */
export async function runAll(
  runner: IRRunner,
  input: tf.Tensor,
  keep: Set<string>,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  await runner.run(input, async (o) => {
    if (keep.has(o.layerId)) out.set(o.layerId, (await o.tensor.data()) as Float32Array);
  });
  return out;
}

/** max |a − b| / (max − min of the reference), with the app's NHWC values against a reference in NCHW order. */
export function compareNchw(nhwc: Float32Array, ref: Float32Array, shape: number[]): number {
  if (nhwc.length !== ref.length) throw new Error(`size ${nhwc.length} ≠ reference ${ref.length} [${shape}]`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ref) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi - lo || Math.max(Math.abs(hi), 1e-12);
  let worst = 0;
  if (shape.length === 4) {
    const [, C, H, W] = shape;
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const d = Math.abs(nhwc[(y * W + x) * C + c] - ref[(c * H + y) * W + x]);
          if (!(d <= worst)) worst = d;
        }
  } else {
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(nhwc[i] - ref[i]);
      if (!(d <= worst)) worst = d;
    }
  }
  return worst / range;
}

/**
 * Compares an app activation (NHWC, shape `ir` [H, W, C] or [F]) with a reference in ONNX layout `ref` (no batch):
 * either the same order, or CHW. Relative to the reference's range, as compareNchw.
 */
export function compareLayouts(got: Float32Array, ir: number[], ref: Float32Array, refShape: number[]): number {
  const same = refShape.length === ir.length && refShape.every((d, i) => d === ir[i]);
  if (same || ir.length !== 3) {
    if (!same && ref.length !== got.length) throw new Error(`shapes [${ir}] and [${refShape}] differ`);
    return compareNchw(got, ref, [ref.length]);
  }
  const [h, w, c] = ir;
  if (!(refShape[0] === c && refShape[1] === h && refShape[2] === w)) {
    throw new Error(`shape [${refShape}] is neither [${ir}] nor its CHW order`);
  }
  return compareNchw(got, ref, [1, c, h, w]);
}

// ---- a tiny ONNX writer -------------------------------------------------------------------------------------

type W = protobuf.Writer;
const sub = (w: W, field: number, fill: (w: W) => void) => {
  w.uint32((field << 3) | 2).fork();
  fill(w);
  w.ldelim();
};
const str = (w: W, field: number, s: string) => w.uint32((field << 3) | 2).string(s);
const int = (w: W, field: number, v: number) => w.uint32(field << 3).int64(v);

export interface TensorSpec {
  name: string;
  dims: number[];
  /** Float32 values (data_type FLOAT), or int64 values when `int64` is set. */
  values?: number[];
  int64?: boolean;
  /** Stored in this external file instead of raw_data. */
  external?: string;
}

export interface AttrSpec {
  name: string;
  i?: number;
  f?: number;
  s?: string;
  ints?: number[];
  floats?: number[];
  t?: TensorSpec;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: AttrSpec[];
}

export interface ModelSpec {
  opset?: number;
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: string[];
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
}

function writeTensor(w: W, t: TensorSpec): void {
  for (const d of t.dims) int(w, 1, d);
  int(w, 2, t.int64 ? 7 : 1);
  str(w, 8, t.name);
  const vals = t.values ?? [];
  const bytes = t.int64
    ? new Uint8Array(new BigInt64Array(vals.map(BigInt)).buffer)
    : new Uint8Array(new Float32Array(vals).buffer);
  if (t.external) {
    const kv = (k: string, v: string) =>
      sub(w, 13, (e) => {
        str(e, 1, k);
        str(e, 2, v);
      });
    kv('location', t.external);
    kv('offset', '0');
    kv('length', String(bytes.length));
    int(w, 14, 1);
  } else w.uint32((9 << 3) | 2).bytes(bytes);
}

/** Raw little-endian float32 bytes (an external data file). */
export const f32bytes = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);

/** Encodes an ONNX ModelProto (IR version 8) from a small description. */
export function buildOnnx(spec: ModelSpec): Uint8Array {
  const w = protobuf.Writer.create();
  int(w, 1, 8);
  str(w, 2, 'feature-map-explorer-test');
  sub(w, 7, (g) => {
    for (const n of spec.nodes) {
      sub(g, 1, (nw) => {
        for (const i of n.inputs) str(nw, 1, i);
        for (const o of n.outputs) str(nw, 2, o);
        str(nw, 3, n.name ?? '');
        str(nw, 4, n.op);
        for (const a of n.attrs ?? []) {
          sub(nw, 5, (aw) => {
            str(aw, 1, a.name);
            if (a.f !== undefined) aw.uint32((2 << 3) | 5).float(a.f);
            if (a.i !== undefined) int(aw, 3, a.i);
            if (a.s !== undefined) aw.uint32((4 << 3) | 2).bytes(new TextEncoder().encode(a.s));
            if (a.t) sub(aw, 5, (tw) => writeTensor(tw, a.t!));
            for (const v of a.floats ?? []) aw.uint32((7 << 3) | 5).float(v);
            for (const v of a.ints ?? []) int(aw, 8, v);
            const type =
              a.f !== undefined ? 1 : a.i !== undefined ? 2 : a.s !== undefined ? 3 : a.t ? 4 : a.floats ? 6 : 7;
            int(aw, 20, type);
          });
        }
        if (n.domain) str(nw, 7, n.domain);
      });
    }
    str(g, 2, 'test');
    for (const t of spec.initializers ?? []) sub(g, 5, (tw) => writeTensor(tw, t));
    const valueInfo = (field: number, name: string, dims: (number | string)[] | null) =>
      sub(g, field, (vw) => {
        str(vw, 1, name);
        sub(vw, 2, (tp) =>
          sub(tp, 1, (tt) => {
            int(tt, 1, 1);
            if (dims)
              sub(tt, 2, (sh) => {
                for (const d of dims) sub(sh, 1, (dw) => (typeof d === 'number' ? int(dw, 1, d) : str(dw, 2, d)));
              });
          }),
        );
      });
    for (const i of spec.inputs) valueInfo(11, i.name, i.dims);
    for (const o of spec.outputs) valueInfo(12, o, null);
  });
  sub(w, 8, (o) => int(o, 2, spec.opset ?? 13));
  return w.finish();
}
