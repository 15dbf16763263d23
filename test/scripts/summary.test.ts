import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

/** Runs scripts/summary.ts the way `npm run -s summary -- …` does (tsx), without npm's overhead. */
function summary(...args: string[]) {
  const r = spawnSync(process.execPath, [TSX, 'scripts/summary.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const KEYS = ['model', 'input', 'totalParams', 'trainableParams', 'nonTrainableParams', 'totalMacs', 'layers'];

describe('npm run summary', () => {
  it('--json prints exactly one object with the documented fields (VGG16)', () => {
    const r = summary('vgg16', '--json');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(KEYS);
    expect(j).toMatchObject({
      model: 'vgg16',
      input: [224, 224, 3],
      totalParams: 138_357_544,
      trainableParams: 138_357_544,
      nonTrainableParams: 0,
      totalMacs: 15_470_264_320,
    });
    expect(j.layers).toHaveLength(23);
    expect(Object.keys(j.layers[0])).toEqual(['name', 'kind', 'outputShape', 'params', 'macs', 'receptiveField']);
    const pool5 = j.layers.find((l: { name: string }) => l.name === 'block5_pool');
    expect(pool5).toEqual({
      name: 'block5_pool',
      kind: 'pool',
      outputShape: [7, 7, 512],
      params: 0,
      macs: 0,
      receptiveField: { size: [212, 212], jump: [32, 32], start: [15.5, 15.5] },
    });
    expect(j.layers.find((l: { name: string }) => l.name === 'fc1')).toMatchObject({
      kind: 'dense',
      outputShape: [4096],
      params: 102_764_544,
      receptiveField: null,
    });
  });

  it('runs through the package script (npm run -s summary -- alexnet --json)', () => {
    const r = spawnSync('npm', ['run', '-s', 'summary', '--', 'alexnet', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).totalParams).toBe(61_100_840);
  });

  it('reads a bundled pretrained model and honours --input', () => {
    const r = summary('mobilenetv2-pretrained', '--json', '--input', '256x256');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.totalParams).toBe(2_619_461);
    expect(j.input).toEqual([256, 256, 3]);
    expect(j.layers).toHaveLength(162);
    const path = summary(join(ROOT, 'resources/models/inceptionv3/model.json'), '--json');
    expect(path.code).toBe(0);
    expect(JSON.parse(path.stdout).totalParams).toBe(22_360_869);
  });

  it('prints a Keras-style table with receptive fields, MACs and both parameter conventions', () => {
    const r = summary('resnet50');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Model: "resnet50"/);
    expect(r.stdout).toMatch(
      /Layer \(type\)\s+Output Shape\s+Param #\s+MACs\s+RF size \/ jump \/ start\s+Connected to/,
    );
    expect(r.stdout).toMatch(
      /conv1_conv \(Conv2D\)\s+\(112, 112, 64\)\s+9,472\s+118,013,952\s+7 \/ 2 \/ 0\s+conv1_pad/,
    );
    expect(r.stdout).toContain('Total params: 25,636,712');
    expect(r.stdout).toContain('Trainable params: 25,583,592');
    expect(r.stdout).toContain('Non-trainable params: 53,120');
    expect(r.stdout).toContain('Params without BN statistics (PyTorch convention): 25,583,592');
    expect(r.stdout).toMatch(/conv5_block3_out \(Activation\)\s+\(7, 7, 2048\)\s+0\s+0\s+483 \/ 32 \/ 0 \(\d+ paths\)/);
    expect(r.stdout).toContain('Conventions:');
  });

  it('says when --input changes the weights of a dense layer after Flatten (VGG-16 at 32×32)', () => {
    const small = summary('vgg16', '--input', '32x32');
    expect(small.code).toBe(0);
    expect(small.stdout).toMatch(/fc1 follows a Flatten, so its weights depend on the input size: at 32×32 .* 224×224/);
    expect(summary('vgg16', '--input', '224x224').stdout).not.toContain('follows a Flatten');
  });

  describe('fails with one line on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'summary-test-'));
    const notJson = join(dir, 'model.json');
    writeFileSync(notJson, '{ this is not json');
    const noTopo = join(dir, 'empty.json');
    writeFileSync(noTopo, '{"weightsManifest": []}');
    // Copies of the bundled MobileNetV2's model.json whose weight files are missing, cut short, or outside the folder.
    const bundled = readFileSync(join(ROOT, 'resources/models/mobilenetv2/model.json'), 'utf8');
    const shard = readFileSync(join(ROOT, 'resources/models/mobilenetv2/group1-shard1of1.bin'));
    const model = (name: string, json: string, bin?: Buffer) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'model.json'), json);
      if (bin) writeFileSync(join(dir, name, 'group1-shard1of1.bin'), bin);
      return join(dir, name);
    };
    const missingShard = model('missing-shard', bundled);
    const cutShard = model('cut-shard', bundled, shard.subarray(0, 1000));
    const escaping = model('escaping', bundled.replace('"group1-shard1of1.bin"', '"../../etc/passwd"'), shard);
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const cases: [string, string[], RegExp, number][] = [
      ['an unknown model', ['lenet'], /unknown model "lenet"/, 1],
      ['a missing file', [join(dir, 'missing.json')], /missing\.json.*no such file/, 1],
      ['a file that is not JSON', [notJson], new RegExp(`${escape(notJson)}: not valid JSON`), 1],
      ['a folder whose model.json is not JSON', [dir], /model\.json: not valid JSON/, 1],
      ['JSON without a topology', [noTopo], /empty\.json: no "modelTopology"/, 1],
      [
        'an input too small for the network',
        ['vgg16', '--input', '16x16'],
        /input 16×16 is too small .*"block5_pool"/,
        1,
      ],
      ['a malformed --input', ['vgg16', '--input', 'big'], /--input expects HxW/, 2],
      ['an unknown option', ['vgg16', '--frobnicate'], /unknown option --frobnicate/, 2],
      ['a missing bundled model', ['nothing-pretrained'], /no bundled pretrained model "nothing"/, 1],
      ['no model at all', [], /no model given/, 2],
      [
        'a missing weight file',
        [missingShard],
        /missing-shard\/model\.json: weight file 'group1-shard1of1\.bin' .* missing/,
        1,
      ],
      ['a weight file cut short', [cutShard], /cut-shard\/group1-shard1of1\.bin: 1000 bytes, but .* 2619461 bytes/, 1],
      ['a weight path that leaves the folder', [escaping], /escaping\/model\.json: .*etc\/passwd/, 1],
    ];
    it.each(cases)('for %s', (_what, args, message, code) => {
      const r = summary(...args);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^summary: /);
      expect(lines[0]).toMatch(message);
    });
  });
});
