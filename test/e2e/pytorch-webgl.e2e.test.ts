/**
 * A torchvision state dict on the engine's WebGL path, in Chromium (SwiftShader here), against PyTorch itself:
 * test/formats/oracle/torchvision_ref.py saves mobilenet_v2 with seeded weights (randomised BatchNorm) as a zip
 * `.pth` and records forward-hook outputs and the logits for one seeded 8-bit image, written as RGBA bytes too.
 * The page fetches the file, opens it in the engine Worker as a user drops it, runs the image on webgl at the
 * model's own size (no resize, no crop) and reads each hooked layer's exact floats back; each must be within 1e-3
 * of the layer's range (the WebGL tolerance; wasm in Node is held to 1e-4 by test/formats/pytorch.test.ts),
 * and the top-5 classes equal PyTorch's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEnginePage, type EnginePage } from '../engine/browser-page';

const SCRIPT = fileURLToPath(new URL('../formats/oracle/torchvision_ref.py', import.meta.url));
const TOL = 1e-3;

interface RefModel {
  file: string;
  rgba: string;
  inputShape: [number, number, number, number];
  layers: { node: string; shape: number[]; bin: string }[];
  output: { node: string; shape: number[]; bin: string };
  top5: number[];
}
type FloatsWindow = {
  engineCheck: {
    userFloats(o: {
      url: string;
      name: string;
      backend: 'webgl';
      image: { width: number; height: number; data: number[] };
      layers: string[];
    }): Promise<{ backend: string; outcomeBackend: string; output: string; layers: Record<string, number[]> }>;
  };
};

let dir = '';
let ref: RefModel;
let p: EnginePage;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'torch-webgl-'));
  const r = spawnSync('/usr/bin/python3', [SCRIPT, dir, 'mobilenet_v2', '--rgba'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0)
    throw new Error(
      `the PyTorch oracle failed (exit ${r.status}; needs apt-get install python3-torch python3-torchvision):\n${r.stderr}`,
    );
  ref = (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { models: RefModel[] }).models[0];
  p = await openEnginePage();
  // The page fetches the state dict as the browser build reads a dropped file: bytes, no path.
  await p.page.route('**/torch-fixture/**', (route) =>
    route.fulfill({ body: readFileSync(join(dir, ref.file)), contentType: 'application/octet-stream' }),
  );
}, 180_000);

afterAll(async () => {
  await p?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const readF32 = (name: string) => {
  const b = readFileSync(join(dir, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** The largest |a − b| as a share of the reference's range (both channel-major, as PyTorch's NCHW). */
function relError(got: number[], want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of want) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / (hi - lo || 1);
}

it('mobilenet_v2 .pth on webgl: every hooked layer and the logits within 1e-3 of PyTorch, the same top-5', async () => {
  const [, , h, w] = ref.inputShape;
  const image = { width: w, height: h, data: [...readFileSync(join(dir, ref.rgba))] };
  const r = await p.page.evaluate((o) => (window as unknown as FloatsWindow).engineCheck.userFloats(o), {
    url: `${p.url}torch-fixture/${ref.file}`,
    name: ref.file,
    backend: 'webgl' as const,
    image,
    layers: ref.layers.map((l) => l.node),
  });
  expect(r.backend).toBe('webgl');
  expect(r.outcomeBackend).toBe('webgl');
  const errors = Object.fromEntries(ref.layers.map((l) => [l.node, relError(r.layers[l.node], readF32(l.bin))]));
  for (const [node, err] of Object.entries(errors)) expect(err, `${node}: ${err.toExponential(2)}`).toBeLessThan(TOL);
  const logits = r.layers[r.output];
  expect(relError(logits, readF32(ref.output.bin))).toBeLessThan(TOL);
  const top5 = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  expect(top5).toEqual(ref.top5);
  console.log('webgl vs PyTorch, worst error / layer range:', errors);
}, 300_000);
