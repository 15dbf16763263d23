import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

/** The rule ids ESLint reports for `code` as if it were the file at `path` (relative to the repository). */
async function ruleHits(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: resolve(root, path) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the host boundary (ESLint no-restricted-imports)', () => {
  it.each([
    ['common/x.ts', "import { app } from 'electron';\nexport const a = app;\n", /no Electron, Node/],
    ['common/x.ts', "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n", /no Electron, Node/],
    [
      'common/x.ts',
      "import { Engine } from '../renderer/src/engine/engine';\nexport type E = Engine;\n",
      /imports none/,
    ],
    ['common/x.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", /no Electron, Node/],
    [
      'main/x.ts',
      "import { Engine } from '../renderer/src/engine/engine';\nexport type E = Engine;\n",
      /through common/,
    ],
    [
      'renderer/src/x.ts',
      "import { FileService } from '../../main/files';\nexport type F = FileService;\n",
      /preload and common/,
    ],
    [
      'renderer/src/x.ts',
      "import { ipcRenderer } from 'electron';\nexport const i = ipcRenderer;\n",
      /No Node or Electron/,
    ],
  ])('%s may not import that: %s', async (path, code, message) => {
    const hits = await ruleHits(path, code);
    expect(hits.some((h) => h.startsWith('no-restricted-imports') && message.test(h))).toBe(true);
  });

  it('common/ as it is obeys it, and main and the renderer may import common/', async () => {
    const eslint = new ESLint({ cwd: root });
    const files = readdirSync(resolve(root, 'common'))
      .filter((f) => /\.(ts|mjs)$/.test(f) && !f.endsWith('.d.mts'))
      .map((f) => resolve(root, 'common', f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    const results = await eslint.lintFiles(files);
    expect(results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports'))).toEqual([]);
    expect(
      await ruleHits('main/x.ts', "import { InputError } from '../common/errors';\nexport const e = InputError;\n"),
    ).toEqual([]);
    expect(
      await ruleHits(
        'renderer/src/x.ts',
        "import { Invoke } from '../../common/ipc-contract';\nexport const i = Invoke;\n",
      ),
    ).toEqual([]);
  });
});
