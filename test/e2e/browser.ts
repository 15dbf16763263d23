/**
 * Launches Debian's Chromium (never a downloaded browser) for the e2e tests and benchmarks: the one
 * place its path and flags are set.
 * The flags keep it off the network this machine does not have, and give WebGL2 through SwiftShader.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
];

/** `extraArgs`: more Chromium switches (the app bench's `--software-compositing` adds --disable-gpu-compositing). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** Collects page errors and console errors so a test can assert the page stayed healthy. */
export function watchPage(page: Page): { errors: string[] } {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return { errors };
}

// import.meta.url rather than __dirname: the benchmarks (tsx, ESM) import this module too.
export const RESULTS_DIR = fileURLToPath(new URL('../../test-results/', import.meta.url));

export function screenshotPath(name: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return fileURLToPath(new URL(name, new URL('../../test-results/', import.meta.url)));
}
