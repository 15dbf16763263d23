/**
 * Separable and transposed-conv inspections across the port. The schema: well-formed ones pass; a pointwise stage
 * or a tap list whose length does not fit the patch is refused, naming the field (hand-built messages). The real
 * protocol (EngineClient ⇄ MessageChannel ⇄ serveEngine ⇄ Engine) on the pretrained mini-Xception opened as a
 * user's HDF5 file: a SeparableConv2D unit arrives whole, and its final stage equals the engine's float value of
 * that unit read by the `channel` request (runTo, not the inspector).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { PortLike } from '../../common/engine-protocol';
import { parseReply } from '../../common/engine-protocol-schema';
import { serveEngine } from '../../renderer/src/engine/server';
import { RESOURCES, SAMPLE } from './helpers';

const problem = (r: { ok: boolean; problem?: string }) => (r.ok ? 'ok' : r.problem!);

/** A 1×2 unit over 2 slices: a separable one (pointwise over the 2 depthwise sums) or a transposed one (taps). */
function inspection(op: 'separable' | 'convtranspose') {
  return {
    layer: 'c',
    op,
    channel: 0,
    y: 0,
    x: 0,
    kernelSize: [1, 2],
    strides: [2, 2],
    dilation: [1, 1],
    pad: [0, 0, 0, 0],
    kernels: [0, 1].map((c) => ({ inputChannel: c, weights: new Float32Array(2), norm: 0 })),
    rgb: null,
    bias: 0,
    patch: {
      layer: 'x',
      rows: 1,
      cols: 2,
      channels: [0, 1],
      top: 0,
      left: 0,
      step: [1, 1],
      values: new Float32Array(4),
      cells: Uint8Array.of(0, 3),
      products: new Float32Array(4),
      ...(op === 'convtranspose' ? { taps: Int32Array.of(0, 0, -1, -1) } : {}),
    },
    ...(op === 'separable'
      ? { pointwise: { depthwise: new Float32Array(2), weights: new Float32Array(2), products: new Float32Array(2) } }
      : {}),
    stages: [{ layer: 'c', kind: 'sum', label: 'Σ = 0', value: 0, engine: 0 }],
    value: 0,
  };
}

describe('schema', () => {
  it('accepts separable and transposed inspections; refuses a pointwise stage or taps of the wrong length', () => {
    for (const op of ['separable', 'convtranspose'] as const)
      expect(problem(parseReply({ type: 'unitInspection', id: 1, result: inspection(op) }))).toBe('ok');
    const sep = inspection('separable');
    sep.pointwise!.weights = new Float32Array(3);
    expect(problem(parseReply({ type: 'unitInspection', id: 1, result: sep }))).toMatch(
      /unitInspection\.result\.pointwise: 2\/3\/2 entries; the patch has 2 slices/,
    );
    const up = inspection('convtranspose');
    up.patch.taps = Int32Array.of(0, 0);
    expect(problem(parseReply({ type: 'unitInspection', id: 1, result: up }))).toMatch(
      /unitInspection\.result\.patch\.taps: 2; 1×2 taps need 4/,
    );
    const bad = { ...inspection('separable'), op: 'pool' };
    expect(problem(parseReply({ type: 'unitInspection', id: 1, result: bad }))).toMatch(
      /op must be conv, depthwise, separable, convtranspose or dense/,
    );
  });
});

describe('a SeparableConv2D unit over the real protocol (mini-Xception, Keras HDF5)', () => {
  let engine: Engine;
  let channel: MessageChannel;
  let client: EngineClient;
  let stop: () => void;

  beforeAll(async () => {
    engine = createNodeEngine({ warmUp: false });
    channel = new MessageChannel();
    stop = serveEngine(channel.port2 as unknown as PortLike, engine);
    client = new EngineClient(channel.port1 as unknown as PortLike);
    await client.hello(RESOURCES, ['wasm']);
  }, 60_000);

  afterAll(async () => {
    client.dispose();
    stop();
    channel.port1.close();
    channel.port2.close();
    await engine.dispose();
  });

  it('arrives with its depthwise slices and pointwise stage, and ends at the engine’s value', async () => {
    const name = 'kh5-oarriaga-fer-mini-xception.hdf5';
    const b = readFileSync(new URL(`../fixtures/models/${name}`, import.meta.url));
    const s = await client.loadUserModel({
      name,
      files: [{ path: name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer }],
    });
    await client.analyze({ modelId: s.id, image: await imageFromFile(SAMPLE), maxSide: 8 }).done;
    const r = await client.inspectUnit(s.id, { layer: 'separable_conv2d_3', channel: 21, y: 0, x: 15 });
    expect(r.op).toBe('separable');
    expect(r.pointwise!.depthwise).toBeInstanceOf(Float32Array);
    expect(r.pointwise!.products).toHaveLength(16);
    expect(r.stages.map((st) => st.kind)).toEqual(['sum', 'bn', 'activation']);
    const last = r.stages.at(-1)!;
    const ch = await client.channel(s.id, last.layer, 21);
    const want = ch.values[0 * ch.shape[1] + 15];
    expect(Math.abs(r.value - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
  }, 120_000);
});
