/**
 * The browser build end to end: the first screen (sample photo, model list, backend line), a dropped
 * photo streamed through every layer, stepping with the keyboard, and a receptive field read off the UI.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotPath, watchPage } from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function openApp(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const { errors } = watchPage(page);
  await page.goto(`${inject('baseUrl')}${query}`);
  return { page, errors };
}

/** Waits until the status line reports every layer of the current model received. */
async function waitAllLayers(page: Page, timeout = 120_000): Promise<[number, number]> {
  const handle = await page.waitForFunction(
    () => {
      const m = /layers (\d+)\/(\d+)/.exec(document.querySelector('[data-testid="status"]')?.textContent ?? '');
      return m &&
        m[1] === m[2] &&
        Number(m[2]) > 0 &&
        !document.querySelector('[data-testid="status"]')?.textContent?.includes('running')
        ? [Number(m[1]), Number(m[2])]
        : null;
    },
    null,
    { timeout, polling: 250 },
  );
  return (await handle.jsonValue()) as [number, number];
}

/**
 * Drops a sample photo on the app's window, as a user's drag and drop does, and returns what the page shows just
 * after the drop's own work (its reactive updates flushed): the status line and which thumbnail is highlighted.
 */
async function dropSample(page: Page, file: string): Promise<{ status: string; thumbs: number; active: number }> {
  const bytes = readFileSync(resolve(__dirname, '../../resources/samples', file)).toString('base64');
  return page.evaluate(
    async ([b64, name]) => {
      // The page's CSP forbids fetching data: URLs, so the bytes are rebuilt from base64 directly.
      const blob = new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(new File([blob], name, { type: 'image/png' }));
      const target = document.querySelector('.explorer-app')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      for (let i = 0; i < 3; i++) await Promise.resolve();
      await new Promise((r) => setTimeout(r, 0));
      const thumbs = [...document.querySelectorAll('[data-testid="image-strip"] [data-testid="thumb"]')];
      return {
        status: document.querySelector('[data-testid="status"]')?.textContent ?? '',
        thumbs: thumbs.length,
        active: thumbs.findIndex((t) => t.classList.contains('active')),
      };
    },
    [bytes, file] as const,
  );
}

/** Mean and standard deviation of a PNG screenshot region's luminance, computed in the page. */
async function pixelStats(page: Page, selector: string): Promise<{ mean: number; std: number; distinct: number }> {
  const png = await page.locator(selector).screenshot();
  return page.evaluate(async (b64) => {
    const blob = new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' });
    const bmp = await createImageBitmap(blob);
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let sum = 0;
    let sq = 0;
    const seen = new Set<number>();
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const l = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
      sum += l;
      sq += l * l;
      if (seen.size < 5000) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    const mean = sum / n;
    return { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), distinct: seen.size };
  }, png.toString('base64'));
}

describe('first screen', () => {
  it('opens on a sample photo, lists the models and says which backend runs and why', async () => {
    const { page, errors } = await openApp('?backend=wasm');
    const backend = page.getByTestId('backend');
    await expect.poll(() => backend.getAttribute('data-backend'), { timeout: 60_000 }).toBe('wasm');
    // Plain words on the line; the engine's technical reason on hover.
    expect(await backend.textContent()).toMatch(/^\s*Running on the CPU \(WebAssembly\)/);
    expect(await backend.getAttribute('title')).toMatch(/tfjs backend: wasm\nwasm \((no )?SIMD/);
    // The first screen says what the app is and what to do.
    const hint = (await page.getByTestId('welcome-hint').textContent()) ?? '';
    expect(hint).toMatch(/Drop a photo/);
    expect(hint).toMatch(/hover a unit/);

    const options = await page
      .locator('[data-testid="model-select"] option')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value).filter(Boolean));
    for (const id of [
      'mobilenetv2-pretrained',
      'inceptionv3-pretrained',
      'vgg16',
      'resnet50',
      'densenet121',
      'googlenet',
      'alexnet',
    ]) {
      expect(options).toContain(id);
    }
    await expect
      .poll(() => page.getByTestId('model-select').inputValue(), { timeout: 60_000 })
      .toBe('mobilenetv2-pretrained');
    await expect.poll(() => page.locator('[data-testid="image-strip"] [data-testid="thumb"]').count()).toBe(1);
    // The sample's thumbnail is a small bitmap of the photo, drawn: not blank, not one colour.
    const thumb = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="thumb"] canvas');
      if (!c) return null;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const lum = new Set<number>();
      let opaque = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] === 255) opaque++;
        lum.add((px[i] + px[i + 1] + px[i + 2]) >> 4);
      }
      return { width: c.width, opaque: opaque / (px.length / 4), shades: lum.size };
    });
    expect(thumb).not.toBeNull();
    expect(thumb!.width).toBe(80);
    expect(thumb!.opaque).toBe(1);
    expect(thumb!.shades).toBeGreaterThan(10);
    const [received, total] = await waitAllLayers(page);
    expect(received).toBe(total);
    expect(total).toBeGreaterThan(100);
    await page.screenshot({ path: screenshotPath('first-screen.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uses WebGL when nothing is forced, and says so', async () => {
    const { page, errors } = await openApp('');
    const backend = page.getByTestId('backend');
    await expect.poll(() => backend.getAttribute('data-backend'), { timeout: 90_000 }).toMatch(/^(webgl|wasm|cpu)$/);
    const line = (await backend.textContent()) ?? '';
    const detail = (await backend.getAttribute('title')) ?? '';
    expect(line).toMatch(/^\s*Running on /);
    // Headless Chromium here has WebGL2 through SwiftShader; if the engine fell back, the line says why in plain
    // words ("the GPU is software-only here") and the detail on hover names the renderer.
    if ((await backend.getAttribute('data-backend')) !== 'webgl') {
      expect(detail).toMatch(/webgl/i);
      expect(line).toMatch(/; (the GPU is software-only here|no usable GPU was found|the GPU)/);
    }
    expect(errors.filter((e) => !/WebGL|GPU/i.test(e))).toEqual([]);
    await page.close();
  });
});

describe('explorer', () => {
  it('takes a dropped photo through every layer, steps with the keyboard and shows a receptive field', async () => {
    const { page, errors } = await openApp('?backend=wasm');
    await waitAllLayers(page);
    await dropSample(page, 'coffee.png');
    await expect.poll(() => page.locator('[data-testid="image-strip"] [data-testid="thumb"]').count()).toBe(2);
    await waitAllLayers(page);

    // The next photo through the same model. Where the scene draws in software (SwiftShader here; every composite
    // is then a whole-window redraw on the cores the pass runs on), what the drop changes is shown with the pass,
    // once it is drawn; on a GPU at once.
    const software = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      const name = String(gl && ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : '');
      return /swiftshader|llvmpipe|softpipe|software|basic render|\bwarp\b/i.test(name);
    });
    const atDrop = await dropSample(page, 'astronaut.png');
    if (software) {
      expect(atDrop.status).not.toContain('running');
      expect(atDrop.status).toContain('last pass');
      expect([atDrop.thumbs, atDrop.active]).toEqual([2, 1]); // coffee.png still highlighted, the new one not yet up
    } else {
      expect(atDrop.status).toContain('running');
      expect(atDrop.active).not.toBe(1);
    }
    await waitAllLayers(page);
    const strip = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('[data-testid="image-strip"] [data-testid="thumb"]')].map((t) =>
          t.classList.contains('active'),
        ),
      );
    await expect.poll(strip, { timeout: 10_000 }).toEqual([false, false, true]);

    const items = page.locator('[data-testid="layer-list"] li[data-layer-id]');
    const total = await items.count();
    expect(total).toBeGreaterThan(100);
    const first = await page.getByTestId('focused-layer').textContent();
    // The model opens on its first layer with weights (MobileNetV2's Conv1, after the Conv1_pad padding).
    const ids = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-layer-id')));
    const start = ids.indexOf(first);
    expect(first).toBe('Conv1');
    expect(start).toBe(1);
    await page.locator('body').press('ArrowRight');
    await page.locator('body').press('ArrowRight');
    const third = ids[start + 2];
    await expect.poll(() => page.getByTestId('focused-layer').textContent()).toBe(third);
    expect(third).not.toBe(first);
    await page.locator('body').press('ArrowLeft');
    await expect.poll(() => page.getByTestId('focused-layer').textContent()).toBe(ids[start + 1]);

    // The focused layer's channels are really drawn: not blank, not uniform.
    const grid = await pixelStats(page, '[data-testid="channel-grid"]');
    expect(grid.std).toBeGreaterThan(5);
    expect(grid.distinct).toBeGreaterThan(50);

    // Focus a deeper layer (the camera glides to it), then hover units near the centre of the view
    // until one reports its receptive field; it must equal the analysis' field for that layer.
    for (let i = 0; i < 10; i++) await page.locator('body').press('ArrowRight');
    await expect.poll(() => page.getByTestId('focused-layer').textContent()).toBe(ids[start + 11]);
    await page.waitForTimeout(1500);
    const box = (await page.getByTestId('scene').boundingBox())!;
    let rf: string | null = null;
    for (let r = 0; r <= 0.3 && !rf; r += 0.05) {
      for (let a = 0; a < Math.PI * 2 && !rf; a += Math.PI / 4) {
        await page.mouse.move(
          box.x + box.width * (0.5 + r * Math.cos(a)),
          box.y + box.height * (0.5 + r * Math.sin(a)),
        );
        rf = await page
          .getByTestId('rf-size')
          .textContent({ timeout: 200 })
          .catch(() => null);
      }
    }
    expect(rf).toMatch(/^\d+×\d+$/);
    const readout = (await page.locator('.rf-readout .mono').textContent()) ?? '';
    const hoveredLayer = readout.slice(0, readout.indexOf('['));
    const expected = await page.evaluate(
      (id) => window.__fme?.store.summary?.analysis.layers.find((l) => l.id === id)?.receptiveField?.size.join('×'),
      hoveredLayer,
    );
    expect(rf).toBe(expected);
    expect(Number(rf!.split('×')[0])).toBeGreaterThan(3);

    const scene = await pixelStats(page, '[data-testid="scene"]');
    expect(scene.std).toBeGreaterThan(5);
    expect(scene.distinct).toBeGreaterThan(50);
    await page.screenshot({ path: screenshotPath('explorer.png') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
