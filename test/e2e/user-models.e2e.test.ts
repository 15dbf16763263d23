/**
 * A student's own models end to end in the browser build: drop a Keras .h5 and a PyTorch .onnx (real files from
 * public repositories, test/fixtures/models), see every layer in the list and the scene, and the top-5 bar chart.
 * A file that is not a model gets one message naming it, and the model on screen stays.
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

const FIXTURES = resolve(__dirname, '../fixtures/models');

/** Drops files (name → bytes) on the app as a user would. */
async function drop(page: Page, files: { name: string; b64: string; type?: string }[]): Promise<void> {
  await page.evaluate(async (list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type ?? '' }));
    }
    const target = document.querySelector('.explorer-app')!;
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

const fixture = (name: string) => ({ name, b64: readFileSync(resolve(FIXTURES, name)).toString('base64') });

/** Waits until the model named `name` is on screen and every one of its layers has a frame. */
async function waitModel(page: Page, name: string, timeout = 120_000): Promise<number> {
  const handle = await page.waitForFunction(
    (n) => {
      const s = window.__fme?.store;
      const status = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      const m = /layers (\d+)\/(\d+)/.exec(status);
      if (!s?.summary || s.summary.name !== n || !m || m[1] !== m[2] || status.includes('running')) return null;
      return Number(m[2]);
    },
    name,
    { timeout, polling: 250 },
  );
  return (await handle.jsonValue()) as number;
}

describe('your own models', () => {
  it.each([
    ['kh5-ayaan-gtsrb-bn.h5', 'Keras HDF5'],
    ['onnx-ccoltong-lenet-batch10.onnx', 'ONNX'],
  ])('%s (%s): every layer listed and drawn, top-5 bar chart shown', async (file) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { errors } = watchPage(page);
    await page.goto(`${inject('baseUrl')}?backend=wasm`);
    await expect.poll(() => page.getByTestId('backend').getAttribute('data-backend'), { timeout: 60_000 }).toBe('wasm');
    await drop(page, [fixture(file)]);
    const frames = await waitModel(page, file);
    const layers = await page.evaluate(() => window.__fme!.store.summary!.analysis.layers.length);
    expect(frames).toBeGreaterThan(3);
    // Every analysed layer but the input has a frame, and every one is in the layer list.
    expect(frames).toBe(layers - 1);
    await expect.poll(() => page.locator('[data-testid="layer-list"] li[data-layer-id]').count()).toBe(frames);
    const rows = page.locator('[data-testid="layer-panel"] [data-testid="prediction"] [data-testid="prediction-row"]');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await rows.count()).toBeLessThanOrEqual(5);
    const first = (await rows.first().textContent()) ?? '';
    expect(first).toMatch(/\d+(\.\d)?\s*%/);
    await page.screenshot({ path: screenshotPath(`user-model-${file}.png`) });
    expect(errors.filter((e) => !/WebGL|GPU/i.test(e))).toEqual([]);
    await page.close();
  });

  it('a text file named .h5 gets one message naming it; the model on screen stays', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    watchPage(page);
    await page.goto(`${inject('baseUrl')}?backend=wasm`);
    await expect.poll(() => page.getByTestId('backend').getAttribute('data-backend'), { timeout: 60_000 }).toBe('wasm');
    await drop(page, [fixture('onnx-ccoltong-lenet-batch10.onnx')]);
    await waitModel(page, 'onnx-ccoltong-lenet-batch10.onnx');
    await drop(page, [{ name: 'model.h5', b64: Buffer.from('not really a model\n').toString('base64') }]);
    await expect
      .poll(() => page.locator('body').textContent(), { timeout: 30_000 })
      .toMatch(/model\.h5: this is a text file, not a Keras HDF5 model/);
    expect(await page.evaluate(() => window.__fme!.store.summary!.name)).toBe('onnx-ccoltong-lenet-batch10.onnx');
    await page.close();
  });
});
