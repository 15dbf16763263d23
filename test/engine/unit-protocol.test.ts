/**
 * Unit inspection, effective receptive field and Grad-CAM through the real protocol: EngineClient ⇄ MessageChannel
 * ⇄ serveEngine ⇄ Engine on the pretrained MobileNetV2 and the sample photo, as the side panel asks for them.
 * Oracles: the engine's float readback of the same layer (`channel`, computed by runTo, not by the inspector), the
 * analysis' receptive field (pure layer arithmetic) and the pass's own top-5 (the plain forward pass).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unitFootprint } from '../../renderer/src/analysis/footprint';
import { EngineCancelled, EngineClient, EngineError } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { ImageInput, ModelSummary, PortLike, Prediction } from '../../common/engine-protocol';
import { parseReply } from '../../common/engine-protocol-schema';
import { serveEngine } from '../../renderer/src/engine/server';
import { RESOURCES, SAMPLE } from './helpers';

let engine: Engine;
let channel: MessageChannel;
let client: EngineClient;
let stop: () => void;
let photo: ImageInput;
let summary: ModelSummary;
let prediction: Prediction | undefined;
const MNV2 = 'mobilenetv2-pretrained';
/** Every reply the client receives, re-checked here against the schema (the client checks them too). */
const replies: unknown[] = [];

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  channel = new MessageChannel();
  stop = serveEngine(channel.port2 as unknown as PortLike, engine);
  client = new EngineClient(channel.port1 as unknown as PortLike);
  channel.port1.addEventListener('message', (ev) => replies.push(ev.data));
  photo = await imageFromFile(SAMPLE);
  await client.hello(RESOURCES, ['wasm']);
  summary = await client.loadModel(MNV2);
  prediction = (await client.analyze({ modelId: MNV2, image: photo, maxSide: 8 }).done).prediction;
}, 120_000);

afterAll(async () => {
  client.dispose();
  stop();
  channel.port1.close();
  channel.port2.close();
  await engine.dispose();
});

/** The engine's float value of a unit, read back by the `channel` request (runTo on the kept input). */
async function engineValue(layer: string, c: number, y: number, x: number): Promise<number> {
  const ch = await client.channel(MNV2, layer, c);
  return ch.values[y * ch.shape[1] + x];
}

describe('inspectUnit over the protocol', () => {
  it('a conv unit: the final stage equals the engine float value of that unit; every stage that has one agrees', async () => {
    const r = await client.inspectUnit(MNV2, { layer: 'Conv1', channel: 5, y: 50, x: 61 });
    expect(r.op).toBe('conv');
    expect(r.patch.values).toBeInstanceOf(Float32Array);
    expect(r.kernels).toHaveLength(3);
    const last = r.stages[r.stages.length - 1];
    expect(last.layer).toBe('Conv1_relu');
    const v = await engineValue(last.layer, 5, 50, 61);
    expect(r.value).toBeCloseTo(v, 4);
    for (const s of r.stages)
      if (s.engine !== null) expect(s.value).toBeCloseTo(await engineValue(s.layer, 5, 50, 61), 4);
    // The sum stage is Σ products (float64 here) of kernel × patch, the numbers the step-through shows.
    let sum = 0;
    for (const p of r.patch.products) sum += p;
    expect(r.stages[0].value).toBeCloseTo(sum, 4);
  });

  it('a depthwise unit deep in the network and the dense head agree with the engine too', async () => {
    const d = await client.inspectUnit(MNV2, { layer: 'block_6_depthwise', channel: 40, y: 3, x: 9 });
    expect(d.op).toBe('depthwise');
    const last = d.stages[d.stages.length - 1];
    expect(d.value).toBeCloseTo(await engineValue(last.layer, 40, 3, 9), 4);
    const head = summary.analysis.layers.find((l) => l.kind === 'dense');
    expect(head).toBeDefined();
    const top = prediction!.top[0].index;
    const h = await client.inspectUnit(MNV2, { layer: head!.id, channel: top });
    expect(h.op).toBe('dense');
    expect(h.patch.rows).toBe(1);
    expect(h.patch.cols).toBe(1280);
  });

  it('refuses a unit outside the layer and a layer that has no kernel, naming them', async () => {
    await expect(client.inspectUnit(MNV2, { layer: 'Conv1', channel: 5, y: 500, x: 0 })).rejects.toBeInstanceOf(
      EngineError,
    );
    await expect(client.inspectUnit(MNV2, { layer: 'no_such_layer', channel: 0 })).rejects.toThrow(/no_such_layer/);
  });
});

describe('effective field and Grad-CAM over the protocol', () => {
  it('the effective field arrives, validates, and lies inside the theoretical box from the analysis', async () => {
    const before = tf.memory().numTensors;
    const e = await client.effectiveField(MNV2, { layer: 'block_3_project', channel: 4, y: 20, x: 20 });
    expect([e.height, e.width]).toEqual([224, 224]);
    expect(e.map).toBeInstanceOf(Float32Array);
    expect(e.map).toHaveLength(224 * 224);
    expect(e.mass).toBeGreaterThan(0);
    const box = unitFootprint(summary.analysis, 'block_3_project', 20, 20);
    expect(e.box).toEqual(box);
    // The gradient of a unit is exactly zero outside its theoretical field.
    let outside = 0;
    for (let i = 0; i < 224; i++)
      for (let j = 0; j < 224; j++)
        if (i < box.top || i > box.bottom || j < box.left || j > box.right) outside += e.map[i * 224 + j];
    expect(outside).toBe(0);
    expect(e.insideBox).toBeCloseTo(1, 6);
    expect(e.share95).toBeGreaterThan(0);
    expect(e.share95).toBeLessThanOrEqual(1);
    // The second request reuses the differentiable twin: no tensor is left behind per request.
    const mid = tf.memory().numTensors;
    await client.effectiveField(MNV2, { layer: 'block_3_project', channel: 4, y: 20, x: 20 });
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid).toBeGreaterThanOrEqual(before);
  });

  it('Grad-CAM defaults to the top prediction on the last spatial layer; any class and layer can be asked', async () => {
    const g = await client.gradCam(MNV2);
    expect(g.classIndex).toBe(prediction!.top[0].index);
    expect(g.logit).toBe(true);
    expect(g.layer).toBe('out_relu');
    expect([g.layerHeight, g.layerWidth]).toEqual([7, 7]);
    expect(g.map).toHaveLength(224 * 224);
    expect(g.max).toBeGreaterThan(0);
    const other = prediction!.top[2].index;
    const g2 = await client.gradCam(MNV2, { classIndex: other, layer: 'block_13_expand_relu' });
    expect(g2.classIndex).toBe(other);
    expect([g2.layerHeight, g2.layerWidth]).toEqual([14, 14]);
    await expect(client.gradCam(MNV2, { classIndex: 5000 })).rejects.toThrow(/class 5000 does not exist/);
  });

  it('every reply of these kinds validated against the schema', () => {
    const kinds = replies
      .filter((r) => ['unitInspection', 'effectiveField', 'gradCam'].includes((r as { type: string }).type))
      .map((r) => {
        expect(parseReply(r).ok).toBe(true);
        return (r as { type: string }).type;
      });
    expect(new Set(kinds)).toEqual(new Set(['unitInspection', 'effectiveField', 'gradCam']));
  });

  it('a newer analyze cancels a gradient request queued behind a pass', async () => {
    const run = client.analyze({ modelId: MNV2, image: photo, maxSide: 8 });
    const efr = client.effectiveField(MNV2, { layer: 'block_3_project', channel: 4, y: 20, x: 20 });
    const newer = client.analyze({ modelId: MNV2, image: photo, maxSide: 8 });
    await expect(efr).rejects.toBeInstanceOf(EngineCancelled);
    await run.done.catch(() => undefined);
    await newer.done;
  });
});
