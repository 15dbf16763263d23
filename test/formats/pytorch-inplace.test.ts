/**
 * The PyTorch reader's in-place conversions (pytorch.ts transposeInPlace / irTranspose) against torch's own
 * permutes: /usr/bin/python3 draws each matrix or weight with a seed and writes it with torch's result —
 * `w.T`, Conv2d OIHW → HWIO `permute(2, 3, 1, 0)`, depthwise `permute(2, 3, 0, 1)`, and the first Linear after a
 * flatten (`reshape(out, C, H, W).permute(2, 3, 1, 0)`). Each is converted inside its own buffer through a
 * scratch smaller than the tensor, so the banded pass and the cycle-following block moves both run; odd shapes,
 * 1×n and n×1, a prime row count (blocks of one value) and a scratch of exactly one row.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { irTranspose, SCRATCH_FLOATS, transposeInPlace } from '../../renderer/src/formats/pytorch';

type Kind = 'matrix' | 'conv' | 'depthwise' | 'flatten';
interface Case {
  name: string;
  kind: Kind;
  shape: number[];
  /** For 'flatten': the C, H, W the Linear's input was flattened from. */
  from?: [number, number, number];
  scratch: number;
}

const CASES: Case[] = [
  { name: '37×101, scratch of 2 rows', kind: 'matrix', shape: [37, 101], scratch: 250 },
  {
    name: '101×37 (prime rows), scratch of one row: blocks of one value',
    kind: 'matrix',
    shape: [101, 37],
    scratch: 37,
  },
  { name: '1×257', kind: 'matrix', shape: [1, 257], scratch: 300 },
  { name: '257×1, scratch of 16', kind: 'matrix', shape: [257, 1], scratch: 16 },
  { name: '64×300, scratch 1000: bands of 2 rows', kind: 'matrix', shape: [64, 300], scratch: 1000 },
  { name: '48×20, fits its scratch whole', kind: 'matrix', shape: [48, 20], scratch: 960 },
  { name: 'Conv2d [5, 3, 3, 7]', kind: 'conv', shape: [5, 3, 3, 7], scratch: 100 },
  { name: 'Conv2d [64, 32, 1, 1]', kind: 'conv', shape: [64, 32, 1, 1], scratch: 200 },
  { name: 'depthwise [6, 1, 3, 3]', kind: 'depthwise', shape: [6, 1, 3, 3], scratch: 9 },
  { name: 'Linear after a 4×3×5 flatten, [7, 60]', kind: 'flatten', shape: [7, 60], from: [4, 3, 5], scratch: 60 },
  {
    name: 'Linear after a 16×7×7 flatten, [96, 784]',
    kind: 'flatten',
    shape: [96, 784],
    from: [16, 7, 7],
    scratch: 5000,
  },
];

const ORACLE = `
import json, sys, torch
out = sys.argv[1]
cases = json.load(open(out + '/cases.json'))
for i, c in enumerate(cases):
    g = torch.Generator().manual_seed(i)
    w = torch.randn(*c['shape'], generator=g, dtype=torch.float32)
    k = c['kind']
    if k == 'matrix': want = w.T
    elif k == 'conv': want = w.permute(2, 3, 1, 0)
    elif k == 'depthwise': want = w.permute(2, 3, 0, 1)
    else:
        C, H, W = c['from']
        want = w.reshape(w.shape[0], C, H, W).permute(2, 3, 1, 0)
    w.numpy().tofile(f'{out}/{i}-in.bin')
    want.contiguous().numpy().tofile(f'{out}/{i}-want.bin')
`;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pth-inplace-'));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(CASES));
  const r = spawnSync('/usr/bin/python3', ['-c', ORACLE, dir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`the torch oracle failed (install python3-torch): ${r.stderr || r.error?.message}`);
}, 130_000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const f32 = (file: string) => {
  const b = readFileSync(join(dir, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('in-place conversion into the IR layout equals torch', () => {
  CASES.forEach((c, i) => {
    it(c.name, () => {
      const data = f32(`${i}-in.bin`);
      const want = f32(`${i}-want.bin`);
      const kind = c.kind === 'matrix' || c.kind === 'flatten' ? 'linear' : c.kind;
      const move = irTranspose({ kind, ...(c.from ? { flattenedFrom: c.from } : {}) }, 0, c.shape)!;
      expect(move.rows * move.cols).toBe(data.length);
      const before = data.buffer;
      transposeInPlace(data, move.rows, move.cols, move.rowOf, new Float32Array(c.scratch));
      expect(data.buffer).toBe(before);
      // Moves only: bit-identical, not merely close.
      expect(
        data.findIndex((v, k) => !Object.is(v, want[k])),
        'first value off',
      ).toBe(-1);
    });
  });

  it('biases and BatchNorm vectors stay as stored', () => {
    expect(irTranspose({ kind: 'conv' }, 1, [64])).toBeNull();
    expect(irTranspose({ kind: 'linear' }, 1, [1000])).toBeNull();
    expect(irTranspose({ kind: 'bn' }, 0, [64])).toBeNull();
  });

  it('refuses a scratch shorter than one stored row', () => {
    expect(() => transposeInPlace(new Float32Array(20), 2, 10, new Int32Array(10), new Float32Array(9))).toThrow(
      /scratch of 9 floats/,
    );
  });

  it("VGG-16 fc6's shape through the 16 MiB scratch: every value lands where torch's permute puts it", () => {
    // [4096, 25088] → [25088, 4096], the input rows in C, H, W order (512×7×7). Each value's bits are its own
    // source index (tiny positive floats, moved bit for bit), so every destination is checked.
    const [out, C, H, W] = [4096, 512, 7, 7];
    const inp = C * H * W;
    const data = new Float32Array(out * inp);
    const bits = new Int32Array(data.buffer);
    for (let i = 0; i < bits.length; i++) bits[i] = i;
    const move = irTranspose({ kind: 'linear', flattenedFrom: [C, H, W] }, 0, [out, inp])!;
    transposeInPlace(data, out, inp, move.rowOf, new Float32Array(SCRATCH_FLOATS));
    let wrong = 0;
    for (let h = 0, d = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++)
          for (let o = 0; o < out; o++, d++) if (bits[d] !== o * inp + c * H * W + h * W + w) wrong++;
    expect(wrong).toBe(0);
  }, 120_000);
});
