/**
 * The scene's `setEdit` end to end, on a stand-in for the WebGL renderer (happy-dom has no WebGL; everything else —
 * layout, model view, labels, frames — is the real code): the edited network's sizes drawn and its changed layers
 * marked, the model's frames kept only where they hold, and everything back as it was when the edit goes.
 */
import { describe, expect, it, vi } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { layerMarks } from '../../renderer/src/analysis/edit';
import { EditSession } from '../../renderer/src/analysis/edit-session';
import { getZooGraph } from '../../renderer/src/zoo';
import type { ModelSummary } from '../../common/engine-protocol';
import { createFeatureScene, sceneEditFor } from '../../renderer/src/explorer/scene';

// Hoisted above the imports: the scene module gets the stand-in.
vi.mock('three', async (importOriginal) => {
  const three = await importOriginal<typeof import('three')>();
  /** Just what the scene asks of a WebGLRenderer; drawing itself is out of reach here. */
  class StandInRenderer {
    readonly capabilities = { maxTextureSize: 4096 };
    readonly info = { render: { calls: 0, triangles: 0 }, memory: { textures: 0, geometries: 0 }, programs: [] };
    readonly renderLists = { dispose: () => {} };
    getContext() {
      return { getExtension: () => null, getParameter: () => 2048, RENDERER: 0x1f01, MAX_ARRAY_TEXTURE_LAYERS: 0 };
    }
    setPixelRatio() {}
    setSize() {}
    render() {}
    dispose() {}
    forceContextLoss() {}
  }
  return { ...three, WebGLRenderer: StandInRenderer };
});

function vgg(): ModelSummary {
  const analysis = analyzeGraph(getZooGraph('vgg16'));
  return {
    id: 'vgg16',
    name: 'VGG-16',
    source: 'zoo',
    description: '',
    trained: false,
    preprocess: {} as never,
    analysis,
    frameOrder: analysis.layers.filter((l) => l.kind !== 'input').map((l) => l.id),
  };
}

describe('FeatureScene.setEdit', () => {
  it('draws the edited sizes with the changed layers marked, then returns to the model with its frames', () => {
    const canvas = document.createElement('canvas');
    document.body.appendChild(canvas);
    const scene = createFeatureScene(canvas, { theme: 'light', colorMap: 'auto', normalize: 'channel' });
    const s = vgg();
    scene.setModel(s);
    for (const l of s.analysis.layers) {
      if (l.kind === 'input') continue;
      const [h, w, c] = l.outputShape.length === 3 ? l.outputShape : [1, 1, l.outputShape[0]];
      scene.addFrame({
        layerId: l.id,
        index: 0,
        shape: [h, w, c],
        fullShape: [...l.outputShape],
        min: new Float32Array(c),
        max: new Float32Array(c).fill(1),
        data: new Uint8Array(h * w * c),
      });
    }
    scene.renderNow();
    expect(scene.stats().layers).toBe(s.frameOrder.length);

    // block3_conv1 with stride 2: 'same' padding gives ⌈56/2⌉ = 28, and every pool after it halves that.
    const session = new EditSession('vgg16');
    session.setField({ layer: 'block3_conv1', field: 'stride', value: 2 });
    const r = session.update();
    const edit = sceneEditFor(s, {
      open: true,
      frames: 'original',
      changedLayers: new Set(r.diff!.changed),
      analysis: r.analysis,
      baseAnalysis: session.baseAnalysis,
      marks: layerMarks(session.base, r),
    })!;
    scene.setEdit(edit);
    const lay = scene.layout()!;
    expect(lay.byId.get('block3_conv1')!.shape).toEqual([28, 28, 256]);
    expect(lay.byId.get('block3_pool')!.shape).toEqual([14, 14, 256]);
    expect(lay.byId.get('block5_pool')!.shape).toEqual([3, 3, 512]);
    expect(scene.editMarks().get('block3_conv1')?.text).toContain('s 1→2 · 56×56×256→28×28×256');
    expect([...scene.editMarks().keys()].sort()).toEqual([...r.diff!.changed].sort());
    // Frames before the edit stay drawn (block1, block2); from block3_conv1 on the layers are empty slabs.
    scene.renderNow();
    expect(scene.stats().layers).toBe(s.frameOrder.indexOf('block3_conv1'));

    scene.setEdit(null);
    scene.renderNow();
    expect(scene.layout()!.byId.get('block3_conv1')!.shape).toEqual([56, 56, 256]);
    expect(scene.editMarks().size).toBe(0);
    expect(scene.stats().layers).toBe(s.frameOrder.length);
    scene.dispose();
  });
});
