/**
 * The engine cannot freeze the app (browser build in Chromium): a worker that spins, one that dies mid-pass,
 * and a cyclic layers model.json each leave the app working again within 5 s, with the previous model and
 * image back on screen and a message saying what happened. Every case runs on one page, one after another,
 * as a user meets several failures in one session. `?test=1` gives the engine its test hooks
 * (debugSpin, debugExit), reached through the session store (window.__fme).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotPath, watchPage } from './browser';

let browser: Browser;
let page: Page;
let errors: string[];
const MNV2 = 'mobilenetv2-pretrained';

declare global {
  interface Window {
    /** The frames on screen when the last restart began (set by the page-side watcher installed below). */
    __framesAtRestart?: Set<unknown>;
    /** When the first frame sent after the last restart began reached the session store (Date.now()). */
    __firstNewFrameAt?: number;
  }
}

// Every case on ONE page, one after another: the user's real situation (several failures in one session).
beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  ({ errors } = watchPage(page));
  await page.goto(`${inject('baseUrl')}?backend=wasm&test=1`);
  await page.waitForFunction(() => !!window.__fme);
  // The frames on screen the moment a restart begins are the old engine's; the restored engine's rerun pass
  // sends new ones, and the moment the first of them (MobileNetV2 on the photo) reaches the store is when
  // the app is back. Watched synchronously in the page, so a main thread busy drawing the frames that follow
  // does not delay the reading.
  await page.evaluate((model) => {
    const store = window.__fme!.store;
    let seen = store.restarts;
    store.$subscribe(
      () => {
        const old = window.__framesAtRestart;
        if (store.restarts !== seen) {
          seen = store.restarts;
          window.__framesAtRestart = new Set(store.frames.values());
          window.__firstNewFrameAt = undefined;
        } else if (
          old &&
          window.__firstNewFrameAt === undefined &&
          store.modelId === model &&
          store.activeImage?.name === 'chelsea.png' &&
          [...store.frames.values()].some((f) => !old.has(f))
        ) {
          window.__firstNewFrameAt = Date.now();
        }
      },
      { flush: 'sync' },
    );
  }, MNV2);
  await waitRestored(settled(await shown()), 0, 120_000);
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
  /** Completed passes so far. */
  passVersion: number;
  /** See Window.__firstNewFrameAt. */
  firstNewFrameAt: number | null;
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
      passVersion: s.passVersion,
      firstNewFrameAt: window.__firstNewFrameAt ?? null,
      notice: s.notice?.message ?? null,
      status: document.querySelector('[data-testid="status"]')?.textContent ?? '',
    };
  });
}

/** What a case starts from: the restarts so far and the passes completed so far. */
interface Baseline {
  restarts: number;
  passVersion: number;
}
const settled = (s: Shown): Baseline => ({ restarts: s.restarts, passVersion: s.passVersion });

/**
 * Waits until `restarts` more restarts than `from` happened and MobileNetV2 shows chelsea.png through every
 * layer again, in a pass completed after `from`.
 */
async function waitRestored(from: Baseline, restarts: number, timeout: number): Promise<Shown> {
  const t0 = Date.now();
  for (;;) {
    const s = await shown();
    const back =
      s.restarts === from.restarts + restarts &&
      s.engineState === 'ready' &&
      s.modelId === MNV2 &&
      s.image === 'chelsea.png' &&
      s.total > 100 &&
      s.passState === 'done' &&
      s.frames === s.total &&
      s.passVersion > from.passVersion;
    if (back) return s;
    if (Date.now() - t0 > timeout) throw new Error(`not restored within ${timeout} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Ms from `t0` until the restored engine's first frame of MobileNetV2 on the photo reached the store, after
 * one more restart than `from` (the previous frames stay on screen meanwhile; they do not count).
 */
async function firstFramesBack(from: Baseline, t0: number): Promise<number> {
  const at = async () => {
    const s = await shown();
    return s.restarts === from.restarts + 1 && s.engineState === 'ready' ? s.firstNewFrameAt : null;
  };
  await expect.poll(at, { timeout: 60_000 }).not.toBeNull();
  return (await at())! - t0;
}

/** Where a case starts: the app as the case before left it, its last pass complete. */
async function baseline(): Promise<Baseline> {
  const idle = (s: Shown) =>
    s.engineState === 'ready' && s.modelId === MNV2 && s.passState === 'done' && s.frames === s.total;
  await expect.poll(async () => idle(await shown()), { timeout: 30_000 }).toBe(true);
  return settled(await shown());
}

describe('engine recovery', () => {
  it('a spinning engine: declared dead, restarted, MobileNetV2 and the photo back within 5 s', async () => {
    const from = await baseline();
    const t0 = Date.now();
    await page.evaluate(() => {
      // It rejects with EngineDead once the watchdog gives up on the engine.
      void window.__fme!.store.debugEngine('spin', 120_000).catch(() => {});
    });
    const back = await firstFramesBack(from, t0);
    const s = await waitRestored(from, 1, 60_000);
    console.log(`spin: first layers back after ${back} ms, every layer after ${Date.now() - t0} ms`);
    expect(back).toBeLessThan(5000);
    expect(s.notice).toMatch(/^The engine stopped responding while running a test that spins; it was restarted\.$/);
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('it was restarted');
    expect(await page.getByTestId('notice-restart').isVisible()).toBe(true);
    // The status line follows the store within an animation frame (it redraws on a ticker, not per layer).
    await expect.poll(async () => (await shown()).status).toMatch(/layers (\d+)\/\1/);
    await page.screenshot({ path: screenshotPath('recovery-spin.png') });
  });

  it('an engine that dies mid-pass: restarted and the pass rerun within 5 s', async () => {
    const from = await baseline();
    const t0 = Date.now();
    await page.evaluate(() => {
      const store = window.__fme!.store;
      void store.analyze();
      void store.debugEngine('exit'); // handled by the engine between two layers of that pass
    });
    // The model and the photo are back on screen within 5 s (the rerun pass streaming its layers); the
    // pass completes shortly after. Detection takes longer here than for a spin: a pass in flight may block
    // the worker legitimately for its MACs' worth of time (client.ts, macsPerMs).
    const back = await firstFramesBack(from, t0);
    const s = await waitRestored(from, 1, 60_000);
    console.log(`exit mid-pass: first layers back after ${back} ms, every layer after ${Date.now() - t0} ms`);
    expect(back).toBeLessThan(5000);
    expect(s.notice).toMatch(
      /^The engine stopped responding while analyzing chelsea\.png with mobilenetv2-pretrained; it was restarted\.$/,
    );
    // Once is bad luck: the model is not marked.
    expect(await page.getByTestId('crashed-model').count()).toBe(0);
  });

  it('a cyclic layers model.json: the app recovers within 5 s and names the file', async () => {
    const from = await baseline();
    const before = from.restarts;
    await page.evaluate(() => (window.__fme!.store.notice = null)); // the message of the case before, read
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
    // watchdog restarts the engine: in both cases MobileNetV2 stays or comes back (a restarted engine's rerun
    // pass streaming), with a message.
    let s: Shown;
    for (;;) {
      s = await shown();
      const named = !!s.notice && /model\.json/.test(s.notice) && s.engineState === 'ready' && s.modelId === MNV2;
      if (named && (s.restarts === before ? s.passState === 'done' && s.frames === s.total : s.firstNewFrameAt)) break;
      if (Date.now() - t0 > 60_000) throw new Error(`not recovered: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = s.restarts > before ? s.firstNewFrameAt! - t0 : Date.now() - t0;
    console.log(`cyclic model: ${s.restarts > before ? 'restarted' : 'refused'} after ${ms} ms: ${s.notice}`);
    expect(ms).toBeLessThan(5000);
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
    const from = await baseline();
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
    await baseline();
    const s = await shown();
    expect(s.image).toBe('chelsea.png'); // the refused file left the strip; the photo on screen stayed
    expect(s.restarts).toBe(from.restarts);
  });

  it('a 4000×3000 photo is decoded downscaled and runs through every layer', async () => {
    await baseline();
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
    const from = await baseline();
    const t0 = Date.now();
    await page.getByTestId('restart-engine').click();
    const back = await firstFramesBack(from, t0);
    const s = await waitRestored(from, 1, 60_000);
    console.log(`restart on request: first layers back after ${back} ms, every layer after ${Date.now() - t0} ms`);
    expect(back).toBeLessThan(5000);
    expect(s.engineState).toBe('ready');
    // The whole session (every case above on this one page) left no error but the GPU's.
    expect(errors.filter((e) => !/WebGL|GPU/i.test(e))).toEqual([]);
  });
});
