/**
 * The installer configuration (electron-builder.yml) and the fuse hook (scripts/after-pack.mjs), checked
 * without running electron-builder (its Electron and tool downloads cannot work here). The file set is
 * checked with electron-builder's own matcher (app-builder-lib's FileMatcher), the way it filters the
 * app's files and, separately, node_modules; the hook is run with @electron/fuses' flipFuses replaced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));
vi.mock('@electron/fuses', async (importOriginal) => {
  const real = await importOriginal<typeof import('@electron/fuses')>();
  return { ...real, flipFuses: vi.fn(async () => 0) };
});

import { flipFuses, FuseV1Options, FuseVersion } from '@electron/fuses';
import { app } from './fake-electron';
import { defaultAppPaths } from '../../main/app';

const ROOT = resolve(__dirname, '../..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };

interface FileSetConfig {
  from: string;
  to: string;
  filter?: string[];
}
interface BuilderConfig {
  appId: string;
  productName: string;
  asar: boolean;
  asarUnpack?: string[];
  files: string[];
  extraResources: FileSetConfig[];
  afterPack: string;
  electronFuses?: unknown;
  directories: { output: string; buildResources?: string };
  linux: { target: string[]; maintainer?: string };
  mac: { target: string[] };
  win: { target: string[] };
  nsis?: Record<string, unknown>;
}

const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  build?: unknown;
};

/* electron-builder's matcher (internal API, stable for years; pinned by our electron-builder ^26). */
interface Stat {
  isDirectory(): boolean;
  moduleFullFilePath?: string;
}
type Filter = (file: string, stat: Stat) => boolean;
const { FileMatcher } = require('app-builder-lib/out/fileMatcher') as {
  FileMatcher: new (
    from: string,
    to: string,
    macroExpander: (s: string) => string,
    patterns?: string[],
  ) => { createFilter(): Filter; addPattern(p: string): void; prependPattern(p: string): void };
};
const fileStat: Stat = { isDirectory: () => false };

/** What electron-builder puts into app.asar from the project folder (it adds `!**\/node_modules/**` itself). */
function appFiles(): Filter {
  const m = new FileMatcher(ROOT, '/app', (s) => s, ['!**/node_modules/**', ...config.files]);
  return m.createFilter();
}
/** How electron-builder filters each production dependency's files: only the `!` patterns of `files` count. */
function moduleFiles(): Filter {
  const m = new FileMatcher(
    ROOT,
    '/app',
    (s) => s,
    config.files.filter((p) => p.startsWith('!')),
  );
  m.prependPattern('**/*');
  const filter = m.createFilter();
  return (relative, stat) => filter(join(ROOT, relative), { ...stat, moduleFullFilePath: relative });
}

/** Bare module specifiers that main/ and preload/ import (what must exist in node_modules at run time). */
function runtimeImports(): Set<string> {
  const found = new Set<string>();
  for (const folder of ['main', 'preload']) {
    for (const file of require('node:fs').readdirSync(join(ROOT, folder)) as string[]) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(ROOT, folder, file), 'utf8');
      for (const m of text.matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+'([^'.][^']*)'/gm)) {
        const spec = m[1];
        if (spec.startsWith('node:') || spec === 'electron') continue;
        found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return found;
}

describe('electron-builder.yml', () => {
  it('lives in its own file, not in package.json, and npm run package builds first', () => {
    expect(pkg.build).toBeUndefined();
    expect(pkg.scripts.package).toMatch(/^npm run build && electron-builder --config electron-builder\.yml\b/);
    expect(pkg.scripts.inspect).toBe('tsx scripts/inspect.ts');
    expect(pkg.main).toBe('out/main/index.js');
  });

  it('is a valid configuration for the installed electron-builder (its own schema check)', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(config: unknown, debugLogger: { isEnabled: boolean; add(): void }): Promise<void>;
    };
    const logger = { isEnabled: false, add: () => {} };
    await expect(validateConfiguration(config, logger)).resolves.toBeUndefined();
    // The check itself can fail: a misspelt option is refused.
    await expect(
      validateConfiguration({ ...config, linux: { ...config.linux, targets: ['AppImage'] } }, logger),
    ).rejects.toThrow(/Invalid configuration object/);
  });

  it('builds AppImage and .deb for Linux, dmg for macOS, NSIS for Windows', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.linux.maintainer).toMatch(/<.+@.+>/); // .deb needs one
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.appId).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
    expect(config.productName).toBe('Feature Map Explorer');
  });

  it('packs the app into app.asar, unpacking nothing', () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack ?? []).toEqual([]);
  });

  it('ships only the built out/ and package.json in the app: no sources, tests, fixtures, configs or maps', () => {
    const included = appFiles();
    for (const f of [
      'package.json',
      'out/main/index.js',
      'out/preload/index.cjs',
      'out/preload/inference.cjs',
      'out/renderer/index.html',
      'out/renderer/inference.html',
      'out/renderer/assets/tfjs-backend-wasm-simd.wasm',
    ])
      expect(included(join(ROOT, f), fileStat), f).toBe(true);
    for (const f of [
      'main/app.ts',
      'preload/index.ts',
      'renderer/src/main.ts',
      'renderer/index.html',
      'test/main/app.test.ts',
      'test/fixtures/tiny/model.json',
      'scripts/after-pack.mjs',
      'scripts/bench.ts',
      'resources/models/mobilenetv2/model.json',
      'out/main/index.js.map',
      'out/renderer/assets/index.js.map',
      'electron-builder.yml',
      'tsconfig.json',
      'vitest.config.ts',
      'README.md',
      'dist-web/index.html',
      'node_modules/valibot/dist/index.js',
    ])
      expect(included(join(ROOT, f), fileStat), f).toBe(false);
  });

  it('ships of node_modules exactly what main and the preloads import at run time', () => {
    const imports = runtimeImports();
    expect(imports).toEqual(new Set(['valibot']));
    const included = moduleFiles();
    for (const name of imports) {
      // electron-builder copies production dependencies only.
      expect(pkg.dependencies[name], `${name} must be a dependency`).toBeDefined();
      expect(included(`node_modules/${name}/package.json`, fileStat), name).toBe(true);
      expect(included(`node_modules/${name}/dist/index.js`, fileStat), name).toBe(true);
    }
    // Everything else the renderer needs is bundled by Vite into out/renderer.
    for (const name of Object.keys(pkg.dependencies).filter((n) => !imports.has(n))) {
      expect(included(`node_modules/${name}/package.json`, fileStat), name).toBe(false);
      expect(included(`node_modules/${name}/dist/index.js`, fileStat), name).toBe(false);
    }
    expect(included('node_modules/@tensorflow/tfjs-core/dist/index.js', fileStat)).toBe(false);
    expect(included('node_modules/valibot/dist/index.js.map', fileStat)).toBe(false);
  });

  it('copies resources/ as extra resources to process.resourcesPath/resources', () => {
    expect(config.extraResources).toEqual([{ from: 'resources', to: 'resources', filter: ['**/*'] }]);
    expect(existsSync(join(ROOT, 'resources', 'samples'))).toBe(true);
  });

  it('flips the fuses with our afterPack hook only (not electron-builder’s electronFuses too)', () => {
    expect(config.afterPack).toBe('./scripts/after-pack.mjs');
    expect(existsSync(join(ROOT, config.afterPack))).toBe(true);
    expect(config.electronFuses).toBeUndefined();
  });

  it('writes installers outside the app’s own folders', () => {
    expect(config.directories.output).toMatch(/^release\//);
  });
});

describe('main finds resources/ where the package puts them', () => {
  it('packaged: process.resourcesPath/resources; development: <app>/resources', () => {
    const had = Object.getOwnPropertyDescriptor(process, 'resourcesPath');
    Object.defineProperty(process, 'resourcesPath', {
      value: '/opt/Feature Map Explorer/resources',
      configurable: true,
    });
    try {
      app.isPackaged = true;
      const target = config.extraResources[0].to;
      expect(defaultAppPaths().resourcesRoot).toBe(join('/opt/Feature Map Explorer/resources', target));
      app.isPackaged = false;
      expect(defaultAppPaths().resourcesRoot).toBe(join(app.getAppPath(), 'resources'));
      // The built pages and preloads sit inside the app (app.asar when packaged), next to out/main.
      const paths = defaultAppPaths();
      expect(paths.rendererRoot).toMatch(/out[\\/]renderer$|[\\/]renderer$/);
      expect(paths.preloadUi).toMatch(/preload[\\/]index\.cjs$/);
    } finally {
      app.isPackaged = false;
      if (had) Object.defineProperty(process, 'resourcesPath', had);
      else delete (process as { resourcesPath?: string }).resourcesPath;
    }
  });
});

describe('scripts/after-pack.mjs', () => {
  interface Hook {
    default(context: unknown): Promise<void>;
    FUSES: Record<string, boolean>;
  }
  let hook: Hook;
  beforeAll(async () => {
    hook = (await import(/* @vite-ignore */ join(ROOT, 'scripts/after-pack.mjs'))) as Hook;
  });

  const context = (electronPlatformName: string, arch = 1) => ({
    appOutDir: '/build/out',
    electronPlatformName,
    arch,
    packager: { appInfo: { productFilename: 'Feature Map Explorer' }, executableName: 'feature-map-explorer' },
  });
  const lastCall = () => vi.mocked(flipFuses).mock.calls.at(-1) as unknown as [string, Record<string, unknown>];

  it('sets every fuse to the value the issue asks for', async () => {
    await hook.default(context('linux'));
    const [, fuses] = lastCall();
    expect(fuses.version).toBe(FuseVersion.V1);
    expect(fuses.strictlyRequireAllFuses).toBe(true);
    const expected: Record<keyof typeof FuseV1Options, boolean> = {
      RunAsNode: false,
      EnableCookieEncryption: true,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      LoadBrowserProcessSpecificV8Snapshot: false,
      GrantFileProtocolExtraPrivileges: false,
      WasmTrapHandlers: true,
    };
    for (const [name, value] of Object.entries(expected))
      expect(fuses[FuseV1Options[name as keyof typeof FuseV1Options]], name).toBe(value);
    // Every fuse @electron/fuses knows is set (nothing left to Electron's default by accident).
    const known = Object.values(FuseV1Options).filter((v): v is number => typeof v === 'number');
    expect(known.every((i) => typeof fuses[i] === 'boolean')).toBe(true);
    expect(hook.FUSES).toEqual(expected);
  });

  it('flips the binary electron-builder made for each platform', async () => {
    await hook.default(context('linux'));
    expect(lastCall()[0]).toBe(join('/build/out', 'feature-map-explorer'));
    await hook.default(context('win32'));
    expect(lastCall()[0]).toBe(join('/build/out', 'Feature Map Explorer.exe'));
    await hook.default(context('darwin', 1));
    expect(lastCall()[0]).toBe(join('/build/out', 'Feature Map Explorer.app'));
    expect(lastCall()[1].resetAdHocDarwinSignature).toBe(false);
    await hook.default(context('darwin', 3));
    expect(lastCall()[1].resetAdHocDarwinSignature).toBe(true);
    await hook.default(context('mas', 3));
    expect(lastCall()[0]).toBe(join('/build/out', 'Feature Map Explorer.app'));
    await expect(hook.default(context('aix'))).rejects.toThrow(/unknown platform aix/);
  });
});

/*
 * A real electron-builder run, offline: `--linux dir` (no AppImage/deb tools needed) with a stand-in
 * Electron binary (just a fuse wire at Electron's defaults) and a stand-in out/ (~15 s of a shared CPU).
 */
describe('electron-builder --linux dir (stand-in Electron)', () => {
  it('puts exactly out/, package.json and valibot into app.asar, resources/ beside it, and flips every fuse', async () => {
    const { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { spawnSync } = await import('node:child_process');
    const { getCurrentFuseWire, FuseState } = await import('@electron/fuses');
    const project = mkdtempSync(join(tmpdir(), 'fme-package-'));
    const dist = join(project, '.electron-dist');
    try {
      for (const f of ['package.json', 'package-lock.json', 'electron-builder.yml', 'scripts/after-pack.mjs'])
        cpSync(join(ROOT, f), join(project, f));
      symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
      const write = (rel: string, text: string) => {
        mkdirSync(join(project, rel, '..'), { recursive: true });
        writeFileSync(join(project, rel), text);
      };
      write('out/main/index.js', "import 'valibot';\n");
      write('out/main/index.js.map', '{}');
      write('out/preload/index.cjs', '');
      write('out/preload/inference.cjs', '');
      write('out/renderer/index.html', '<!doctype html>');
      write('main/app.ts', 'source');
      write('test/main/app.test.ts', 'test');
      write('resources/samples/cat.png', 'png');
      write('resources/models/m/model.json', '{}');
      mkdirSync(dist);
      // Electron's shipped fuse wire: RunAsNode 1, cookie 0, NODE_OPTIONS 1, --inspect 1, asar integrity 0,
      // only asar 0, V8 snapshot 0, file:// privileges 1, wasm trap handlers 1.
      writeFileSync(
        join(dist, 'electron'),
        Buffer.concat([
          Buffer.from('\x7fELF'),
          Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'),
          Buffer.from([1, 9]),
          Buffer.from('101100011'),
        ]),
      );
      chmodSync(join(dist, 'electron'), 0o755);
      const run = spawnSync(
        join(ROOT, 'node_modules/.bin/electron-builder'),
        ['--linux', 'dir', '--config', 'electron-builder.yml', `-c.electronDist=${dist}`, '--publish', 'never'],
        { cwd: project, encoding: 'utf8', timeout: 150_000 },
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const out = join(project, 'release', pkgVersion(), 'linux-unpacked');
      const asar = require('@electron/asar') as { listPackage(path: string): string[] };
      const listed = asar.listPackage(join(out, 'resources', 'app.asar')).map((p) => p.replace(/\\/g, '/'));
      const tops = new Set(listed.map((p) => p.split('/').slice(1, 3).join('/')));
      expect([...tops].sort()).toEqual(
        [
          'node_modules',
          'node_modules/valibot',
          'out',
          'out/main',
          'out/preload',
          'out/renderer',
          'package.json',
        ].sort(),
      );
      expect(listed).not.toContain('/out/main/index.js.map');
      expect(existsSync(join(out, 'resources', 'resources', 'samples', 'cat.png'))).toBe(true);
      expect(existsSync(join(out, 'resources', 'resources', 'models', 'm', 'model.json'))).toBe(true);
      const wire = await getCurrentFuseWire(join(out, 'feature-map-explorer'));
      const on = FuseState.ENABLE;
      const off = FuseState.DISABLE;
      expect(wire).toMatchObject({
        [FuseV1Options.RunAsNode]: off,
        [FuseV1Options.EnableCookieEncryption]: on,
        [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: off,
        [FuseV1Options.EnableNodeCliInspectArguments]: off,
        [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: on,
        [FuseV1Options.OnlyLoadAppFromAsar]: on,
        [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: off,
        [FuseV1Options.GrantFileProtocolExtraPrivileges]: off,
        [FuseV1Options.WasmTrapHandlers]: on,
      });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 180_000);
});

function pkgVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
