/**
 * The unit tools in the browser build (Chromium, wasm): pin a unit by clicking a feature map in the 3D view, see its
 * kernel, open "Step through" and walk to the final value (which must equal the engine's own float value for that
 * unit, read separately through the store's `channelValues`), then "Effective field" draws the heat map with the
 * theoretical box over the photo.
 */
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

async function waitAllLayers(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const t = document.querySelector('[data-testid="status"]')?.textContent ?? '';
      const m = /layers (\d+)\/(\d+)/.exec(t);
      return !!m && m[1] === m[2] && Number(m[2]) > 0 && !t.includes('running');
    },
    null,
    { timeout, polling: 250 },
  );
}

describe('unit tools', () => {
  it('pin a unit, step through its value, see its effective field', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { errors } = watchPage(page);
    await page.goto(`${inject('baseUrl')}?backend=wasm`);
    await waitAllLayers(page);

    // Click feature maps near the centre of the view until a unit is pinned (the scene → store wiring).
    await page.waitForTimeout(1000);
    const box = (await page.getByTestId('scene').boundingBox())!;
    let pinned = false;
    for (let r = 0; r <= 0.3 && !pinned; r += 0.05) {
      for (let a = 0; a < Math.PI * 2 && !pinned; a += Math.PI / 4) {
        const x = box.x + box.width * (0.5 + r * Math.cos(a));
        const y = box.y + box.height * (0.5 + r * Math.sin(a));
        await page.mouse.move(x, y);
        const hovering = await page
          .getByTestId('rf-size')
          .isVisible()
          .catch(() => false);
        if (!hovering) continue;
        await page.mouse.click(x, y);
        pinned = await page
          .getByTestId('pinned-unit')
          .isVisible()
          .catch(() => false);
      }
    }
    expect(pinned).toBe(true);
    const readout = (await page.locator('.rf-readout .mono').textContent()) ?? '';
    const pinnedText = (await page.getByTestId('pinned-unit').textContent()) ?? '';
    expect(pinnedText.replace(/\s+/g, ' ')).toContain(readout.slice(0, readout.indexOf('[')));

    // A conv unit for the step-through (the clicked one may be a pool or an add): Conv1, as a student would pick.
    await page.evaluate(() => window.__fme!.store.pinUnit({ layerId: 'Conv1', channel: 5, y: 50, x: 61 }));
    await expect.poll(() => page.getByTestId('kernel-view').isVisible(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('step-through-button').click();
    for (let i = 0; i < 12 && (await page.getByTestId('step-next').isEnabled()); i++)
      await page.getByTestId('step-next').click();
    const check = (await page.getByTestId('step-check').textContent()) ?? '';
    expect(check).toMatch(/= the engine’s value/);
    // The final value shown equals the engine's float value of that unit, read separately.
    const inspected = await page.evaluate(async () => {
      const s = window.__fme!.store;
      const r = await s.inspectUnit({ layerId: 'Conv1', channel: 5, y: 50, x: 61 });
      const last = r!.stages[r!.stages.length - 1];
      const ch = await s.channelValues(last.layer, 5);
      return { value: r!.value, engine: ch!.values[50 * ch!.shape[1] + 61] };
    });
    expect(Math.abs(inspected.value - inspected.engine)).toBeLessThan(1e-4 * Math.max(1, Math.abs(inspected.engine)));

    await page.getByTestId('effective-field-button').click();
    const overlay = page.getByTestId('effective-field');
    await expect.poll(() => overlay.isVisible(), { timeout: 60_000 }).toBe(true);
    expect(await overlay.getByTestId('heat-box').isVisible()).toBe(true);
    expect((await overlay.getByTestId('heat-share').textContent()) ?? '').toMatch(
      /95 % of the gradient lies on \d+ px/,
    );
    await page.screenshot({ path: screenshotPath('unit-inspect.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);
});
