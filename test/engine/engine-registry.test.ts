/**
 * The engine's model registry (model-registry.ts) behind the Engine facade: a least-recently-used cache of at
 * most `maxModels` loaded models (a load or a pass marks a model as used; the oldest goes when one more is
 * loaded), user models listed only while loaded, and what a pass on an evicted model does (a bundled or zoo
 * model is loaded again, a user model cannot be and says so).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import { FIX, RESOURCES, collector, fixtureModel, fixturePixels } from './helpers';

let engine: Engine;
const image = () => ({
  kind: 'rgba' as const,
  name: 'fixture.rgba',
  width: FIX.W,
  height: FIX.H,
  data: fixturePixels(),
});

beforeAll(async () => {
  engine = createNodeEngine({ maxModels: 2 });
  await engine.hello(RESOURCES, ['wasm']);
});
afterAll(() => engine.dispose());

describe('model registry', () => {
  it('keeps the two most recently used models; a load of a loaded model only marks it used', async () => {
    await engine.loadModel('mobilenetv2');
    await engine.loadModel('alexnet');
    expect(engine.loadedModelIds()).toEqual(['mobilenetv2', 'alexnet']);
    const again = await engine.loadModel('mobilenetv2');
    expect(again).toBe(engine.summary('mobilenetv2')); // not built a second time
    expect(engine.loadedModelIds()).toEqual(['alexnet', 'mobilenetv2']);
    await engine.loadModel('googlenet');
    // alexnet was the least recently used.
    expect(engine.loadedModelIds()).toEqual(['mobilenetv2', 'googlenet']);
    expect(engine.summary('alexnet')).toBeNull();
  });

  it('lists a user model while it is loaded; a pass on it once evicted names it and asks to open it again', async () => {
    const { files } = await fixtureModel('fixture');
    const s = await engine.loadUserModel(files);
    expect(s.id).toBe('user:fixture');
    expect(
      engine
        .listModels()
        .filter((m) => m.source === 'user')
        .map((m) => m.id),
    ).toEqual(['user:fixture']);
    const { frames, sink } = collector();
    await engine.analyze({ modelId: 'user:fixture', image: image() }, sink);
    expect(frames.map((f) => f.layerId)).toEqual(s.frameOrder);
    // The pass marked it used: the zoo model loaded before it goes first.
    expect(engine.loadedModelIds()).toEqual(['googlenet', 'user:fixture']);
    await engine.loadModel('alexnet');
    await engine.loadModel('mobilenetv2');
    expect(engine.loadedModelIds()).toEqual(['alexnet', 'mobilenetv2']);
    expect(engine.listModels().some((m) => m.source === 'user')).toBe(false);
    await expect(engine.analyze({ modelId: 'user:fixture', image: image() }, collector().sink)).rejects.toThrow(
      "model 'user:fixture' is not loaded (it was unloaded or never opened); open it again",
    );
  });

  it('a pass on an evicted zoo model loads it again; unloading says whether there was anything to unload', async () => {
    await engine.loadModel('alexnet');
    await engine.loadModel('googlenet');
    expect(engine.loadedModelIds()).toEqual(['alexnet', 'googlenet']);
    const { frames, sink } = collector();
    await engine.analyze({ modelId: 'mobilenetv2', image: image(), maxSide: 4 }, sink);
    expect(frames.length).toBe(engine.summary('mobilenetv2')!.frameOrder.length);
    expect(engine.loadedModelIds()).toEqual(['googlenet', 'mobilenetv2']);
    expect(await engine.unloadModel('googlenet')).toBe(true);
    expect(await engine.unloadModel('googlenet')).toBe(false);
    expect(engine.loadedModelIds()).toEqual(['mobilenetv2']);
  });
});
