/**
 * Comparing models side by side in the browser build: MobileNetV2 as bundled (pretrained, nsfwjs head) and
 * MobileNetV2 from the zoo (untrained, ImageNet head) on the sample photo the app opens with. Both are 224×224
 * and fast on wasm, so the whole comparison runs in seconds on two cores.
 * Asserts the table's totals against the analysis module run here in Node, that both panes draw, that a click pins
 * a unit (the same place in both panes) whose effective field each pane draws, that stepping is linked by stage, that the exports and a saved comparison work, and that a missing file is reported.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Download, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { analyzeGraph, analyzeModelJson } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import { launchBrowser, screenshotPath } from './browser';

const ROOT = resolve(__dirname, '../..');
const ZOO = 'mobilenetv2';
const BUNDLED = 'mobilenetv2-pretrained';

const expected = {
  [ZOO]: analyzeGraph(getZooGraph(ZOO)).totals,
  [BUNDLED]: analyzeModelJson(
    JSON.parse(readFileSync(resolve(ROOT, 'resources/models/mobilenetv2/model.json'), 'utf8')),
    'model.json',
  ).totals,
};

let browser: Browser;
let page: Page;
let errors: string[];

/** Luminance spread and distinct colours of a PNG (a blank or uniform canvas has std 0 and 1 colour). */
function pixelStats(png: Buffer): { std: number; distinct: number } {
  const img = PNG.sync.read(png);
  let sum = 0;
  let sq = 0;
  const seen = new Set<number>();
  const n = img.width * img.height;
  for (let i = 0; i < img.data.length; i += 4) {
    const l = 0.2126 * img.data[i] + 0.7152 * img.data[i + 1] + 0.0722 * img.data[i + 2];
    sum += l;
    sq += l * l;
    if (seen.size < 5000) seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
  }
  const mean = sum / n;
  return { std: Math.sqrt(Math.max(0, sq / n - mean * mean)), distinct: seen.size };
}

/** Pixels that differ between two same-sized PNGs. */
function changedPixels(a: Buffer, b: Buffer): number {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) return x.width * x.height;
  let n = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    if (x.data[i] !== y.data[i] || x.data[i + 1] !== y.data[i + 1] || x.data[i + 2] !== y.data[i + 2]) n++;
  }
  return n;
}

/** Reads one table cell's exact value. */
async function cell(modelId: string, col: string): Promise<string | null> {
  return page
    .locator(`[data-testid="compare-table"] tr[data-model-id="${modelId}"] [data-col="${col}"]`)
    .getAttribute('data-value');
}

/** Waits until every pane has finished its pass. */
async function waitPanesDone(count: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const panes = [...document.querySelectorAll('[data-testid="compare-pane"]')];
      return panes.length === n && panes.every((p) => p.getAttribute('data-state') === 'done');
    },
    count,
    { timeout: 120_000, polling: 250 },
  );
}

async function download(click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [d] = (await Promise.all([page.waitForEvent('download'), click()])) as [Download, void];
  const path = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(path) };
}

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1500, height: 950 }, acceptDownloads: true });
  errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Chromium asks for /favicon.ico on its own; the page has none. Anything else is the app's.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico'))
      errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  // wasm: SwiftShader WebGL is far too slow for inference. FME_E2E_BACKEND overrides it for local diagnosis.
  await page.goto(`${inject('baseUrl')}?backend=${process.env.FME_E2E_BACKEND ?? 'wasm'}`);
  // Let the main view finish its first pass so the comparison does not share the two cores with it.
  const state = await page.waitForFunction(
    () => {
      const s = window.__fme?.store;
      if (s?.engineState === 'failed') return { failed: s.notice?.message ?? 'engine failed' };
      return s?.engineState === 'ready' && (s.passState === 'done' || s.passState === 'error')
        ? { failed: null }
        : null;
    },
    null,
    { timeout: 120_000, polling: 250 },
  );
  expect((await state.jsonValue())?.failed).toBeNull();
});

afterAll(async () => {
  await browser?.close();
});

describe('compare two models on the same image', () => {
  it('opens from the toolbar with the main view’s model and image, and adds a second model', async () => {
    await page.getByTestId('compare-open').click();
    await expect.poll(() => page.getByTestId('compare-view').count()).toBe(1);
    // The comparison starts with the model and photo of the main view.
    await expect
      .poll(() => page.locator('[data-testid="compare-pane"]').getAttribute('data-model-id'), { timeout: 30_000 })
      .toBe(BUNDLED);
    await page.getByTestId('compare-add').selectOption(ZOO);
    await waitPanesDone(2);
    const ids = await page
      .locator('[data-testid="compare-pane"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-model-id')));
    expect(ids).toEqual([BUNDLED, ZOO]);
  });

  it('shows totals equal to the analysis module’s, and the time of each pass', async () => {
    for (const id of [BUNDLED, ZOO] as const) {
      expect(Number(await cell(id, 'params'))).toBe(expected[id].params);
      expect(Number(await cell(id, 'macs'))).toBe(expected[id].macs);
      expect(Number(await cell(id, 'depth'))).toBe(expected[id].depth);
      expect(Number(await cell(id, 'dense-params'))).toBe(expected[id].denseParams);
      expect(Number(await cell(id, 'pass-ms'))).toBeGreaterThan(0);
    }
    // Same convolutional backbone, different heads (1000 ImageNet classes vs a 5-class head).
    expect(expected[ZOO].params).toBe(3_538_984);
    expect(expected[ZOO].params - expected[ZOO].denseParams).toBe(
      expected[BUNDLED].params - expected[BUNDLED].denseParams,
    );
  });

  it('draws both panes and the charts', async () => {
    for (const id of [BUNDLED, ZOO]) {
      const shot = await page.locator(`[data-testid="compare-pane"][data-model-id="${id}"] canvas`).screenshot();
      const s = pixelStats(shot);
      expect(s.std, `${id} pane`).toBeGreaterThan(5);
      expect(s.distinct, `${id} pane`).toBeGreaterThan(50);
    }
    const charts = page.getByTestId('compare-chart');
    expect(await charts.count()).toBe(3);
    const paths = await page
      .locator('[data-testid="compare-chart"] path[data-series]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''));
    expect(paths).toHaveLength(6);
    for (const d of paths) expect(d.split('L').length).toBeGreaterThan(10);
    await page.screenshot({ path: screenshotPath('compare.png') });
  });

  it('pins a unit by clicking a pane, the same place in the other, and draws each pane’s effective field', async () => {
    await page.getByTestId('compare-pin-everywhere').check();
    const pane = (id: string) => page.locator(`[data-testid="compare-pane"][data-model-id="${id}"]`);
    // Click feature maps around the middle of the first pane until a unit is pinned (a miss, a block or a layer
    // without a spatial field pins nothing).
    const box = (await pane(BUNDLED).getByTestId('compare-scene').boundingBox())!;
    const pinned = () => pane(BUNDLED).getByTestId('compare-unit').isVisible();
    for (let r = 0; r <= 0.35 && !(await pinned()); r += 0.05)
      for (let a = 0; a < Math.PI * 2 && !(await pinned()); a += Math.PI / 4) {
        await page.mouse.click(
          box.x + box.width * (0.5 + r * Math.cos(a)),
          box.y + box.height * (0.5 + r * Math.sin(a)),
        );
        await page.waitForTimeout(100);
      }
    expect(await pinned()).toBe(true);
    await expect.poll(() => pane(ZOO).getByTestId('compare-unit').isVisible()).toBe(true);
    // The same backbone: the same layer and unit in both (the caption names them).
    const caption = (id: string) => pane(id).locator('[data-testid="compare-unit"] figcaption .what').textContent();
    expect(await caption(ZOO)).toBe(await caption(BUNDLED));
    // The theoretical box is on the input image before anything is computed.
    expect(await pane(BUNDLED).getByTestId('heat-box').isVisible()).toBe(true);
    await pane(BUNDLED).getByTestId('compare-efr').click();
    for (const id of [BUNDLED, ZOO])
      await expect
        .poll(() => pane(id).getByTestId('heat-share').textContent(), { timeout: 120_000 })
        .toMatch(/95 % of the gradient lies on \d+ px|No gradient reaches the input/);
    await page.screenshot({ path: screenshotPath('compare-efr.png') });
    // One release releases every pane's pin.
    await pane(BUNDLED).getByLabel('Release the pinned unit').click();
    expect(await page.getByTestId('compare-unit').count()).toBe(0);
    await page.getByTestId('compare-pin-everywhere').uncheck();
  });

  it('links the cameras: orbiting one pane turns the other, unless unlinked', async () => {
    const canvasOf = (id: string) => page.locator(`[data-testid="compare-pane"][data-model-id="${id}"] canvas`);
    const orbit = async (id: string) => {
      const box = (await canvasOf(id).boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + 160, box.y + box.height / 2 + 40, { steps: 8 });
      await page.mouse.up();
      await page.waitForTimeout(1500); // damping settles, the follower re-renders
    };
    const before = await canvasOf(ZOO).screenshot();
    await orbit(BUNDLED);
    const linked = await canvasOf(ZOO).screenshot();
    expect(changedPixels(before, linked)).toBeGreaterThan(2000);

    await page.getByTestId('compare-link-camera').uncheck();
    const still = await canvasOf(ZOO).screenshot();
    await orbit(BUNDLED);
    expect(changedPixels(still, await canvasOf(ZOO).screenshot())).toBe(0);
    await page.getByTestId('compare-link-camera').check();
  });

  it('steps both panes together, by stage', async () => {
    const stages = () =>
      page.locator('[data-testid="compare-stage"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')));
    const layers = () =>
      page
        .locator('[data-testid="compare-layer"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-layer-id')));
    expect(await stages()).toEqual(['1/1', '1/1']);
    for (let i = 0; i < 14; i++) await page.keyboard.press('ArrowRight');
    const [a, b] = await stages();
    expect(a).not.toBe('1/1');
    expect(b).toBe(a);
    // Same backbone: stepping by stage lands on the same layer in both.
    const [la, lb] = await layers();
    expect(lb).toBe(la);
    await page.keyboard.press('End');
    expect(await stages()).toEqual(['head', 'head']);
  });

  it('exports the table as CSV and JSON and the view and charts as PNG', async () => {
    const csv = await download(() => page.getByTestId('compare-export-csv').click());
    expect(csv.name).toMatch(/^comparison-.*\.csv$/);
    const lines = csv.bytes.toString('utf8').trim().split('\r\n');
    const header = lines[0].split(',');
    const total = (id: string) =>
      lines.map((l) => l.split(',')).find((r) => r[0] === id && r[header.indexOf('scope')] === 'total')!;
    expect(Number(total(ZOO)[header.indexOf('params')])).toBe(expected[ZOO].params);
    expect(Number(total(BUNDLED)[header.indexOf('macs')])).toBe(expected[BUNDLED].macs);

    const json = JSON.parse(
      (await download(() => page.getByTestId('compare-export-json').click())).bytes.toString('utf8'),
    );
    expect(json.models.map((m: { modelId: string; params: number }) => [m.modelId, m.params])).toEqual([
      [BUNDLED, expected[BUNDLED].params],
      [ZOO, expected[ZOO].params],
    ]);

    for (const id of ['compare-export-view', 'compare-export-charts']) {
      const png = await download(() => page.getByTestId(id).click());
      expect(png.name).toMatch(/\.png$/);
      writeFileSync(screenshotPath(`${id}.png`), png.bytes);
      const s = pixelStats(png.bytes);
      expect(s.std, id).toBeGreaterThan(5);
      expect(s.distinct, id).toBeGreaterThan(20);
    }
  });

  it('saves the comparison and reopens it, reporting a missing model instead of failing', async () => {
    const saved = await download(() => page.getByTestId('compare-save').click());
    expect(saved.name).toMatch(/\.fme-compare\.json$/);
    const doc = JSON.parse(saved.bytes.toString('utf8'));
    expect(doc.models.map((m: { id: string }) => m.id)).toEqual([BUNDLED, ZOO]);
    expect(doc.image).toEqual({ kind: 'sample', name: 'chelsea.png', path: 'samples/chelsea.png' });
    // Reopen with one model that is nowhere to be found: the rest opens, the missing one is listed.
    doc.models = [doc.models[1], { id: 'user:gone', name: 'gone', source: 'user', path: '/nowhere/gone/model.json' }];
    doc.link.stepping = 'depth';
    const file = screenshotPath('reopen.fme-compare.json');
    writeFileSync(file, JSON.stringify(doc));
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('compare-reopen').click()]);
    await chooser.setFiles(file);
    await expect
      .poll(() => page.getByTestId('compare-notice').textContent(), { timeout: 30_000 })
      .toContain('gone (/nowhere/gone/model.json): not found');
    await waitPanesDone(1);
    expect(await page.locator('[data-testid="compare-pane"]').getAttribute('data-model-id')).toBe(ZOO);
    expect(await page.getByTestId('compare-link').inputValue()).toBe('depth');
    expect(Number(await cell(ZOO, 'params'))).toBe(expected[ZOO].params);
  });

  it('closes back to the main view and stays free of page errors', async () => {
    await page.getByTestId('compare-close').click();
    await expect.poll(() => page.getByTestId('compare-view').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
