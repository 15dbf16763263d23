/**
 * `npm run -s summary -- <model> --preset / --knob / --edit`: the what-if editor on the command line. The numbers
 * are checked against hand computation (the lecture's), not against the code's own output.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

function summary(...args: string[]) {
  const r = spawnSync(process.execPath, [TSX, 'scripts/summary.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  name: string;
  status: string;
  before?: { params: number; outputShape: number[] };
  after?: { params: number; outputShape: number[] };
  params: number;
}

describe('npm run summary with edits', () => {
  it('vgg16 --preset vgg16-gap --json: the edited table and the diff, fc1 102,764,544 → 2,101,248', () => {
    const r = summary('vgg16', '--preset', 'vgg16-gap', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual([
      'model',
      'input',
      'totalParams',
      'trainableParams',
      'nonTrainableParams',
      'totalMacs',
      'layers',
      'edit',
      'diff',
      'warnings',
    ]);
    expect(j.edit).toEqual({ preset: 'vgg16-gap', knobs: { globalPool: 1 }, edits: [] });
    const fc1 = j.layers.find((l: { name: string }) => l.name === 'fc1');
    expect(fc1.params).toBe(512 * 4096 + 4096);
    // 138,357,544 − (25,088 − 512)·4,096 = 37,694,248.
    expect(j.totalParams).toBe(138_357_544 - (25_088 - 512) * 4096);
    const rows: Row[] = j.diff.layers;
    const d = rows.find((x) => x.name === 'fc1');
    expect(d?.before?.params).toBe(102_764_544);
    expect(d?.after?.params).toBe(2_101_248);
    expect(rows.find((x) => x.name === 'flatten')?.status).toBe('removed');
    expect(j.diff.totals.paramsBefore).toBe(138_357_544);
    expect(j.diff.changed).toContain('fc1');
  });

  it('--edit is repeatable: block1_conv1.kernel=5 and fc1.units=1024, as a table and a diff', () => {
    const r = summary('vgg16', '--edit', 'block1_conv1.kernel=5', '--edit=fc1.units=1024');
    expect(r.code, r.stderr).toBe(0);
    // block1_conv1: 5·5·3·64 + 64 = 4,864; fc1: 25,088·1,024 + 1,024 = 25,691,136; fc2: 1,024·4,096 + 4,096 = 4,198,400.
    expect(r.stdout).toMatch(/block1_conv1 \(Conv2D\)\s+\(224, 224, 64\)\s+4,864/);
    expect(r.stdout).toMatch(/fc1\s+changed\s+\(4096\) → \(1024\)\s+102,764,544 → 25,691,136/);
    expect(r.stdout).toMatch(/fc2\s+changed\s+\(4096\)\s+16,781,312 → 4,198,400/);
    // The 5×5 adds 2 to every later field: block5_pool 212 → 214.
    expect(r.stdout).toContain(
      'Receptive field of the last spatial layer: 212 / 32 / 15.5 (block5_pool) → 214 / 32 / 15.5 (block5_pool)',
    );
    const total = 138_357_544 + (4_864 - 1_792) + (25_691_136 - 102_764_544) + (4_198_400 - 16_781_312);
    expect(r.stdout).toContain(`Total params: 138,357,544 → ${total.toLocaleString('en-US')}`);
  });

  it('a broken edit exits 3 with the first failing layer and its formula', () => {
    const r = summary('vgg16', '--edit', 'block5_pool.kernel=15');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^summary: the edited vgg16 breaks at block5_pool \(MaxPooling2D\): the map shrinks below 1×1 .*height \(14 \+ 2·0 − 15\)\/2 \+ 1 = 0\.5, floored to 0/,
    );
  });

  it('--preset list names every preset with its explanation and numbers; bad edits are usage errors', () => {
    const r = summary('--preset', 'list');
    expect(r.code, r.stderr).toBe(0);
    for (const id of ['5x5-vs-3x3', 'googlenet-no-reduce', 'vgg16-gap', 'resnet-basic-vs-bottleneck', 'densenet-k12']) {
      expect(r.stdout).toContain(id);
    }
    expect(r.stdout).toContain('params 138,357,544 → 37,694,248');
    const bad = summary('vgg16', '--edit', 'nope.kernel=3');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/vgg16 has no layer "nope"/);
    const wrong = summary('resnet50', '--preset', 'vgg16-gap');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/preset "vgg16-gap" is an edit of vgg16, not of resnet50/);
  });
});
