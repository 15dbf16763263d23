/**
 * The engine cannot freeze the app (browser build in Chromium): a worker that spins, one that dies mid-pass,
 * and a cyclic layers model.json each leave the app working again within 5 s, with the previous model and
 * image back on screen and a message saying what happened. `?test=1` gives the engine its test hooks
 * (debugSpin, debugExit), reached through the session store (window.__fme).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotPath, watchPage } from './browser';

let browser: Browser;
let page: Page;
let errors: string[];
const MNV2 = 'mobilenetv2-pretrained';

beforeAll(async () => {
  browser = await launchBrowser();
});
// Each case on a fresh app: a case's restarts are counted from 0. (Run one after another on one page, a pass
// on the replacement worker has been seen to stall in CI: an open bug, see the reliability issue's note.)
beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  ({ errors } = watchPage(page));
  await page.goto(`${inject('baseUrl')}?backend=wasm&test=1`);
  await waitRestored(0, 120_000);
});
afterEach(async () => {
  await page?.close();
});
afterAll(async () => {
  await browser?.close();
});

interface Shown {
  restarts: number;
  engineState: string;
  modelId: string | null;
  image: string | null;
  frames: number;
  total: number;
  passState: string;
  notice: string | null;
  status: string;
}

function shown(): Promise<Shown> {
  return page.evaluate(() => {
    const s = window.__fme!.store;
    return {
      restarts: s.restarts,
      engineState: s.engineState,
      modelId: s.modelId,
      image: s.activeImage?.name ?? null,
      frames: s.frames.size,
      total: s.summary?.frameOrder.length ?? 0,
      passState: s.passState,
      notice: s.notice?.message ?? null,
      status: document.querySelector('[data-testid="status"]')?.textContent ?? '',
    };
  });
}

/**
 * Waits until `restarts` restarts happened and MobileNetV2 shows chelsea.png through every layer again
 * (`streaming`: as soon as its first layers of the rerun pass are on screen).
 */
async function waitRestored(restarts: number, timeout: number, streaming = false): Promise<Shown> {
  const t0 = Date.now();
  for (;;) {
    const s = await shown();
    const back =
      s.restarts === restarts &&
      s.engineState === 'ready' &&
      s.modelId === MNV2 &&
      s.image === 'chelsea.png' &&
      s.total > 100 &&
      (streaming ? s.frames > 0 : s.passState === 'done' && s.frames === s.total);
    if (back) return s;
    if (Date.now() - t0 > timeout) throw new Error(`not restored within ${timeout} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('engine recovery', () => {
  it('a spinning engine: declared dead, restarted, MobileNetV2 and the photo back within 5 s', async () => {
    const t0 = Date.now();
    await page.evaluate(() => {
      // It rejects with EngineDead once the watchdog gives up on the engine.
      void window.__fme!.store.debugEngine('spin', 120_000).catch(() => {});
    });
    const s = await waitRestored(1, 5000);
    console.log(`spin: restored after ${Date.now() - t0} ms`);
    expect(s.notice).toMatch(/^The engine stopped responding while running a test that spins; it was restarted\.$/);
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('it was restarted');
    expect(await page.getByTestId('notice-restart').isVisible()).toBe(true);
    expect(s.status).toMatch(/layers (\d+)\/\1/);
    await page.screenshot({ path: screenshotPath('recovery-spin.png') });
  });

  it('an engine that dies mid-pass: restarted and the pass rerun within 5 s', async () => {
    const t0 = Date.now();
    await page.evaluate(() => {
      const store = window.__fme!.store;
      void store.analyze();
      void store.debugEngine('exit'); // handled by the engine between two layers of that pass
    });
    // The model and the photo are back on screen within 5 s (the rerun pass streaming its layers); the
    // pass completes shortly after. Detection takes longer here than for a spin: a pass in flight may block
    // the worker legitimately for its MACs' worth of time (client.ts, macsPerMs).
    await waitRestored(1, 5000, true);
    const back = Date.now() - t0;
    const s = await waitRestored(1, 10_000);
    console.log(`exit mid-pass: first layers back after ${back} ms, every layer after ${Date.now() - t0} ms`);
    expect(s.notice).toMatch(
      /^The engine stopped responding while analyzing chelsea\.png with mobilenetv2-pretrained; it was restarted\.$/,
    );
    // Once is bad luck: the model is not marked.
    expect(await page.getByTestId('crashed-model').count()).toBe(0);
  });

  it('a cyclic layers model.json: the app recovers within 5 s and names the file', async () => {
    await waitRestored((await shown()).restarts, 30_000);
    const before = (await shown()).restarts;
    const t0 = Date.now();
    await page.evaluate(() => {
      const layer = (name: string, cls: string, inbound: string[], config: object = {}) => ({
        class_name: cls,
        name,
        config: { name, ...config },
        inbound_nodes: inbound.length ? [inbound.map((n) => [n, 0, 0, {}])] : [],
      });
      const json = {
        format: 'layers-model',
        generatedBy: 'recovery.e2e.test.ts',
        modelTopology: {
          class_name: 'Model',
          config: {
            name: 'cyclic',
            layers: [
              layer('input', 'InputLayer', [], { batch_input_shape: [null, 8, 8, 3], dtype: 'float32' }),
              layer('a', 'Activation', ['input', 'b'], { activation: 'relu' }),
              layer('b', 'Activation', ['a'], { activation: 'relu' }),
            ],
            input_layers: [['input', 0, 0]],
            output_layers: [['b', 0, 0]],
          },
          keras_version: '2.15.0',
          backend: 'tensorflow',
        },
        weightsManifest: [],
      };
      const bytes = new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer;
      void window.__fme!.store.loadUserModel({ name: 'cyclic', files: [{ path: 'model.json', bytes }] });
    });
    // Either the engine's graph code refuses the cycle (an error naming the file) or tfjs spins and the
    // watchdog restarts the engine: in both cases MobileNetV2 stays or comes back, with a message.
    let s: Shown;
    for (;;) {
      s = await shown();
      const settled = s.engineState === 'ready' && s.modelId === MNV2 && s.passState === 'done' && s.frames === s.total;
      if (settled && s.notice && /model\.json/.test(s.notice)) break;
      if (Date.now() - t0 > 5000) throw new Error(`not recovered within 5 s: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(
      `cyclic model: ${s.restarts > before ? 'restarted' : 'refused'} after ${Date.now() - t0} ms: ${s.notice}`,
    );
    expect(s.notice).toMatch(/cyclic\/model\.json|model\.json/);
    expect(s.image).toBe('chelsea.png');
    if (s.restarts > before) {
      expect(s.notice).toMatch(/^The engine stopped responding while loading cyclic\/model\.json; it was restarted\./);
      await expect
        .poll(() => page.getByTestId('crashed-model').textContent())
        .toMatch(/cyclic: caused the engine to stop/);
    }
    await page.screenshot({ path: screenshotPath('recovery-cyclic.png') });
  });

  it('a JPEG cut short with an end marker appended is refused in Chromium, naming the file', async () => {
    // Each case starts from the settled app, whatever the one before left in flight.
    await waitRestored((await shown()).restarts, 30_000);
    const jpg = readFileSync(resolve(__dirname, '../../resources/samples/rocket.jpg'));
    let sos = 2;
    while (!(jpg[sos] === 0xff && jpg[sos + 1] === 0xda)) sos += 2 + jpg.readUInt16BE(sos + 2);
    const cut = Buffer.concat([jpg.subarray(0, sos + Math.floor((jpg.length - sos) * 0.6)), Buffer.from([0xff, 0xd9])]);
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)).buffer;
      window.__fme!.store.notice = null;
      window.__fme!.store.addImages([{ name: 'rocket-cut.jpg', bytes }]);
    }, cut.toString('base64'));
    await expect
      .poll(() => page.evaluate(() => window.__fme!.store.notice?.message ?? ''), { timeout: 10_000 })
      .toMatch(/^rocket-cut\.jpg: the JPEG data is truncated \(the image data stops at block row \d+ of \d+\)$/);
    const s = await waitRestored((await shown()).restarts, 10_000);
    expect(s.image).toBe('chelsea.png'); // the refused file left the strip; the photo on screen stayed
  });

  it('a 4000×3000 photo is decoded downscaled and runs through every layer', async () => {
    // Each case starts from the settled app, whatever the one before left in flight.
    await waitRestored((await shown()).restarts, 30_000);
    await page.evaluate(async () => {
      const c = new OffscreenCanvas(4000, 3000);
      const g = c.getContext('2d')!;
      const grad = g.createLinearGradient(0, 0, 4000, 3000);
      grad.addColorStop(0, '#203080');
      grad.addColorStop(1, '#f0c040');
      g.fillStyle = grad;
      g.fillRect(0, 0, 4000, 3000);
      const blob = await c.convertToBlob({ type: 'image/png' });
      window.__fme!.store.addImages([{ name: 'big.png', bytes: await blob.arrayBuffer() }]);
    });
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const s = window.__fme!.store;
            return (
              s.activeImage?.name === 'big.png' &&
              s.passState === 'done' &&
              s.frames.size === s.summary?.frameOrder.length
            );
          }),
        { timeout: 30_000 },
      )
      .toBe(true);
    // Decoded at most 1024 px on its longer side (what the engine reports back as the image it read).
    const size = await page.evaluate(() => window.__fme!.store.imageSize);
    expect(Math.max(...size!)).toBeLessThanOrEqual(1024);
    expect(size![0] / size![1]).toBeCloseTo(4 / 3, 1);
    await page.evaluate(() => window.__fme!.store.selectImage(window.__fme!.store.images[0].id));
  });

  it('"Restart engine" in the status bar restarts on request and keeps the scene', async () => {
    // Each case starts from the settled app, whatever the one before left in flight.
    await waitRestored((await shown()).restarts, 30_000);
    const before = (await shown()).restarts;
    await page.getByTestId('restart-engine').click();
    const s = await waitRestored(before + 1, 10_000);
    expect(s.engineState).toBe('ready');
    expect(errors.filter((e) => !/WebGL|GPU/i.test(e))).toEqual([]);
  });
});
