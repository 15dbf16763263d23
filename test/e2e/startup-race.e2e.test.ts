/**
 * The start-up race in the browser build: a photo dropped on the window while the app is still starting (the
 * engine worker connecting; the start-up sample still on its way) is the one shown when the app is ready — the
 * start-up sample does not replace it. The drop is the page's own drop event, dispatched from an init script as
 * soon as the app has mounted (so it lands while the engine connects), or while the sample's request is held.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { launchBrowser, screenshotPath, watchPage } from './browser';

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const COFFEE = readFileSync(resolve(__dirname, '../../resources/samples/coffee.png')).toString('base64');

interface Seen {
  engineState: string;
  images: string[];
  active: string | null;
  passState: string;
  frames: number;
  total: number;
}

/** What the session store shows now (window.__fme is the app's automation hook). */
function seen(page: Page): Promise<Seen> {
  return page.evaluate(() => {
    const s = window.__fme!.store;
    return {
      engineState: s.engineState,
      images: s.images.map((i) => i.name),
      active: s.activeImage?.name ?? null,
      passState: s.passState,
      frames: s.frames.size,
      total: s.summary?.frameOrder.length ?? 0,
    };
  });
}

/** Dispatches a drop of coffee.png on the window, as a user's drag and drop does. */
function dropCoffee(b64: string): void {
  const blob = new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' });
  const dt = new DataTransfer();
  dt.items.add(new File([blob], 'coffee.png', { type: 'image/png' }));
  const target = document.querySelector('.explorer-app')!;
  target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
  target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}

/** Waits until the pass on the active image has delivered every layer. */
async function ready(page: Page): Promise<Seen> {
  await expect
    .poll(
      async () => {
        const s = await seen(page);
        return s.passState === 'done' && s.total > 0 && s.frames === s.total;
      },
      { timeout: 150_000, interval: 250 },
    )
    .toBe(true);
  return seen(page);
}

describe('start-up race', () => {
  it('a photo dropped while the engine is connecting is the one shown when the app is ready', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { errors } = watchPage(page);
    // Runs before the app's scripts: drops the photo the moment the app has mounted, and notes the engine state.
    await page.addInitScript((b64: string) => {
      const w = window as unknown as { __fme?: { store: { engineState: string } }; __dropState?: string };
      const poll = () => {
        const target = document.querySelector('.explorer-app');
        if (!w.__fme || !target) return void requestAnimationFrame(poll);
        w.__dropState = w.__fme.store.engineState;
        // The same drop as dropCoffee (an init script cannot call into the test's module).
        const blob = new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' });
        const dt = new DataTransfer();
        dt.items.add(new File([blob], 'coffee.png', { type: 'image/png' }));
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      };
      requestAnimationFrame(poll);
    }, COFFEE);
    await page.goto(`${inject('baseUrl')}?backend=wasm`);
    await expect
      .poll(() => page.evaluate(() => (window as { __dropState?: string }).__dropState ?? null))
      .toBe('connecting');
    const s = await ready(page);
    expect(s.engineState).toBe('ready');
    expect(s.active).toBe('coffee.png');
    expect(s.images).toEqual(['coffee.png']);
    // The strip shows that one image, and the input preview is coffee's (not the start-up cat).
    await expect.poll(() => page.locator('[data-testid="image-strip"] [data-testid="thumb"]').count()).toBe(1);
    await page.screenshot({ path: screenshotPath('startup-race-connecting.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a photo dropped while the start-up sample is still loading wins over the sample', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { errors } = watchPage(page);
    // Hold the start-up sample's request until the drop has happened.
    let held: Route | null = null;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await page.route('**/samples/chelsea.png', async (route) => {
      held = route;
      await released;
      await route.continue();
    });
    await page.goto(`${inject('baseUrl')}?backend=wasm`);
    await expect.poll(() => held !== null, { timeout: 60_000 }).toBe(true);
    expect((await seen(page)).engineState).toBe('ready');
    await page.evaluate(dropCoffee, COFFEE);
    await expect.poll(async () => (await seen(page)).active).toBe('coffee.png');
    release();
    const s = await ready(page);
    expect(s.active).toBe('coffee.png');
    expect(s.images).toEqual(['coffee.png']);
    await expect.poll(() => page.locator('[data-testid="image-strip"] [data-testid="thumb"]').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
