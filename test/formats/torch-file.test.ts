/**
 * The torch checkpoint reader against PyTorch: test/formats/oracle/torch_files.py saves state dicts with
 * torch.save (zip and legacy containers, pickle protocols 1–5, float16 / bfloat16 / float64 / integer dtypes,
 * strided views sharing a storage, checkpoint wrappers, torchvision's ResNet-18 and MobileNetV2) and writes
 * every tensor as PyTorch itself converts it to float32. Each tensor read here must be bit-identical.
 * Hostile and damaged files (gadgets that torch.load really runs, whole pickled models, bombs, views past
 * their storage, truncated archives, quantized and sparse tensors) must each give one message naming the
 * file and the problem, with nothing executed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../common/image-header';
import { isTorchFile, readTorchStateDict } from '../../renderer/src/formats/torch-file';

const SCRIPT = fileURLToPath(new URL('./oracle/torch_files.py', import.meta.url));
const APT_HINT = 'install them with: apt-get install python3-torch python3-torchvision';

interface Good {
  file: string;
  container: 'zip' | 'legacy';
  path: string;
  expect: string;
  tensors: { name: string; dtype: string; shape: number[]; offset: number; contiguous: boolean }[];
}
interface Hostile {
  file: string;
  problem: string;
  glob?: string;
  marker?: string;
  torchRan?: boolean;
  torch?: string;
}

let dir = '';
let manifest: { good: Good[]; hostile: Hostile[] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torch-oracle-'));
  const r = spawnSync('/usr/bin/python3', [SCRIPT, 'torch', dir], { encoding: 'utf8', timeout: 110_000 });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); ${APT_HINT}`);
  if (r.status === 3)
    throw new Error(`the PyTorch oracle needs torch and torchvision (${r.stderr.trim()}); ${APT_HINT}`);
  if (r.status !== 0) throw new Error(`the PyTorch oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { good: Good[]; hostile: Hostile[] };
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));

/** Index of the first element whose float32 bits differ (NaNs of any payload count as equal), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

const GOOD = [
  'small-zip',
  'small-legacy',
  'dtypes-zip',
  'dtypes-legacy',
  'views-zip',
  'views-legacy',
  'small-zip-p1',
  'small-zip-p4',
  'small-zip-p5',
  'small-legacy-p1',
  'small-legacy-p4',
  'small-legacy-p5',
  'wrap-state_dict',
  'wrap-model',
  'wrap-model_state_dict',
  'wrap-net',
  'params-zip',
  'resnet18-zip',
  'mobilenet_v2-legacy',
  'small-deflated',
  'small-zip64',
  'crafted-ok',
];

describe('state dicts saved by PyTorch 1.13 read exactly', () => {
  it('the oracle wrote every case', () => {
    expect(manifest.good.map((g) => g.file.replace(/\.pth$/, '')).sort()).toEqual([...GOOD].sort());
  });

  for (const name of GOOD) {
    it(`${name}: every tensor, name, shape and dtype as PyTorch has it`, () => {
      const g = manifest.good.find((x) => x.file === `${name}.pth`)!;
      const bytes = read(g.file);
      expect(isTorchFile(bytes)).toBe(true);
      const sd = readTorchStateDict(bytes, g.file);
      expect(sd.container).toBe(g.container);
      expect(sd.path).toBe(g.path);
      expect([...sd.tensors.keys()]).toEqual(g.tensors.map((t) => t.name));
      const all = new Float32Array(read(g.expect).buffer);
      for (const t of g.tensors) {
        const got = sd.tensors.get(t.name)!;
        expect(got.dtype, t.name).toBe(t.dtype);
        expect(got.shape, t.name).toEqual(t.shape);
        const n = t.shape.reduce((a, b) => a * b, 1);
        expect(got.values.length, t.name).toBe(n);
        const want = all.subarray(t.offset, t.offset + n);
        const at = firstBitDifference(got.values, want);
        expect(at, `${name} ${t.name}[${at}]: ${got.values[at]} vs PyTorch ${want[at]}`).toBe(-1);
        // A contiguous float32 tensor in a zip (torch aligns records to 64 bytes) is a view of the file.
        if (g.container === 'zip' && name !== 'small-deflated' && t.dtype === 'float32' && t.contiguous && n > 0)
          expect(got.values.buffer, `${t.name} is a view of the file's bytes`).toBe(bytes.buffer);
      }
    });
  }

  it('a view and its base share the file bytes, and values are not copied per view', () => {
    const bytes = read('views-zip.pth');
    const sd = readTorchStateDict(bytes, 'views-zip.pth');
    const base = sd.tensors.get('base')!.values;
    const tail = sd.tensors.get('tail')!.values;
    expect(tail.buffer).toBe(bytes.buffer);
    expect(tail.byteOffset).toBe(base.byteOffset + 4 * 4);
  });
});

describe('legacy files read in place', () => {
  it('moves misaligned storages inside the buffer so float32 tensors are views, with the same values', () => {
    let misaligned = 0;
    for (const f of ['small-legacy.pth', 'mobilenet_v2-legacy.pth', 'views-legacy.pth', 'dtypes-legacy.pth']) {
      const g = manifest.good.find((x) => x.file === f)!;
      const b0 = read(f);
      const copied = readTorchStateDict(b0, f);
      const b1 = read(f);
      const inPlace = readTorchStateDict(b1, f, { inPlace: true });
      for (const t of g.tensors) {
        const a = copied.tensors.get(t.name)!;
        const u = inPlace.tensors.get(t.name)!;
        expect(firstBitDifference(u.values, a.values), `${f} ${t.name}`).toBe(-1);
        if (t.dtype !== 'float32' || !t.contiguous || a.values.length === 0) continue;
        expect(u.values.buffer, `${f} ${t.name} is a view of the file`).toBe(b1.buffer);
        if (a.values.buffer !== b0.buffer) misaligned++;
      }
    }
    // Without inPlace, misaligned float32 storages are copies (otherwise this test would prove nothing).
    expect(misaligned).toBeGreaterThan(10);
  });
});

describe('hostile and damaged files: one message naming the file, nothing run', () => {
  const fail = (file: string): InputError => {
    const bytes = read(file);
    try {
      readTorchStateDict(bytes, file);
    } catch (e) {
      expect(e, file).toBeInstanceOf(InputError);
      expect((e as InputError).file).toBe(file);
      expect((e as Error).message.startsWith(`${file}: `), (e as Error).message).toBe(true);
      return e as InputError;
    }
    throw new Error(`${file} was read without an error`);
  };
  const hostile = (problem: string) => manifest.hostile.filter((h) => h.problem === problem);

  it('gadgets (os.system, eval, subprocess.Popen; protocols 2 and 4; zip and legacy) that torch.load runs', () => {
    const cases = hostile('global').filter((h) => h.file.startsWith('gadget-'));
    expect(cases.length).toBe(12);
    for (const h of cases) {
      expect(h.torchRan, `${h.file}: torch.load really runs this gadget`).toBe(true);
      expect(isTorchFile(read(h.file))).toBe(true);
      expect(fail(h.file).message).toBe(
        `${h.file}: refuses to run the pickle's global ${h.glob} (a .pth file is a Python program; only state-dict data is read)`,
      );
      expect(existsSync(h.marker!), `${h.file} ran its command`).toBe(false);
    }
  });

  it('os.system named literally, and torch.storage._load_from_bytes (a pickle inside bytes)', () => {
    for (const h of hostile('global').filter((x) => !x.file.startsWith('gadget-'))) {
      expect(fail(h.file).message).toBe(
        `${h.file}: refuses to run the pickle's global ${h.glob} (a .pth file is a Python program; only state-dict data is read)`,
      );
      if (h.marker) expect(existsSync(h.marker)).toBe(false);
    }
  });

  it('a whole pickled model (torchvision ResNet-18, a user class in __main__) asks for the state_dict', () => {
    const cases = hostile('model');
    expect(cases.map((h) => h.file).sort()).toEqual([
      'whole-main-net.pth',
      'whole-resnet18-legacy.pth',
      'whole-resnet18-zip.pth',
    ]);
    for (const h of cases)
      expect(fail(h.file).message).toBe(
        `${h.file}: holds a whole pickled model (class ${h.glob}), not a state_dict; save \`model.state_dict()\` instead — unpickling a model would run its code`,
      );
  });

  it('a TorchScript archive', () => {
    expect(fail('torchscript.pt').message).toMatch(/^torchscript\.pt: is a TorchScript archive \(torch\.jit\.save\)/);
  });

  it('bombs fail fast: nested lists, nested marks, and a memo bomb that holds no state dict', () => {
    const t0 = performance.now();
    expect(fail('bomb-nested-lists.pth').message).toBe(
      'bomb-nested-lists.pth: refuses the pickle: containers nested more than 1000 levels deep — a pickle bomb or a damaged file',
    );
    expect(fail('bomb-marks.pth').message).toBe(
      'bomb-marks.pth: refuses the pickle: more than 1000 nested MARKs — a pickle bomb or a damaged file',
    );
    for (const f of ['bomb-laughs.pth', 'bomb-laughs-legacy.pth'])
      expect(fail(f).message).toBe(
        `${f}: holds no state_dict (no dict of tensors at the top level or under state_dict / model_state_dict / model / net); it holds a list of 10 items`,
      );
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('views that reach past their storage, bad shapes, short storage records', () => {
    const [offset] = hostile('bounds').filter((h) => h.file === 'offset-past-end.pth');
    expect(offset.torch, 'torch refuses it too').toMatch(/RuntimeError/);
    expect(fail('offset-past-end.pth').message).toBe(
      'offset-past-end.pth: tensor w reads element 11 of storage 0, which has only 10 (offset 8, shape (4), stride (1))',
    );
    expect(fail('stride-past-end.pth').message).toBe(
      'stride-past-end.pth: tensor w reads element 14 of storage 0, which has only 12 (offset 0, shape (3, 4), stride (4, 2))',
    );
    expect(fail('negative-shape.pth').message).toBe(
      'negative-shape.pth: tensor w has a negative dimension in its shape (-1, 3)',
    );
    expect(fail('huge-shape.pth').message).toBe('huge-shape.pth: tensor w has 4294967296 elements, more than 2^31');
    expect(hostile('expand')[0].torch, 'torch makes it a view').toBe('loads');
    expect(fail('expand-bomb.pth').message).toBe(
      "expand-bomb.pth: tensor w expands a small storage into 900000000 elements (shape (30000, 30000), stride (0, 0)), more than the file's size can hold — refusing it as a memory bomb",
    );
    expect(fail('short-storage.pth').message).toBe(
      'short-storage.pth: tensor w uses storage 0, whose data holds 40 bytes instead of 400',
    );
  });

  it('truncated zip and legacy files, a zip without data.pkl, a missing storage record', () => {
    expect(isTorchFile(read('truncated-zip.pth')), 'still recognised, so the user hears why it fails').toBe(true);
    expect(fail('truncated-zip.pth').message).toBe(
      'truncated-zip.pth: the zip archive is truncated (its central directory at the end is missing)',
    );
    expect(fail('truncated-legacy.pth').message).toMatch(
      /^truncated-legacy\.pth: storage \d+ runs past the end of the file — the file is truncated$/,
    );
    expect(fail('no-data-pkl.pth').message).toBe(
      'no-data-pkl.pth: not a PyTorch checkpoint — it has no data.pkl record — the file is damaged or incomplete',
    );
    expect(fail('no-storage-record.pth').message).toBe(
      'no-storage-record.pth: the pickle refers to storage 0, but the archive has no record archive/data/0 — the file is damaged',
    );
  });

  it('quantized and sparse tensors are refused by name', () => {
    expect(fail('quantized.pth').message).toBe(
      'quantized.pth: holds a quantized tensor (torch._utils._rebuild_qtensor); only float and integer tensors are read — save tensor.dequantize() instead',
    );
    expect(fail('sparse.pth').message).toBe(
      'sparse.pth: holds a sparse tensor (torch._utils._rebuild_sparse_tensor); only dense (strided) tensors are read — save tensor.to_dense() instead',
    );
  });

  it('files that are not torch files, and a checkpoint without a state dict', () => {
    for (const f of ['bare-pickle.pkl', 'empty.pth', 'png.pth']) {
      expect(isTorchFile(read(f)), f).toBe(false);
      expect(fail(f).message).toBe(
        `${f}: not a PyTorch file (neither a torch.save zip archive nor a legacy torch pickle with its magic number)`,
      );
    }
    expect(isTorchFile(read('other-zip.pth'))).toBe(false);
    expect(fail('other-zip.pth').message).toBe(
      'other-zip.pth: not a PyTorch checkpoint — it is a zip archive without a data.pkl record, so not a torch.save file',
    );
    expect(fail('epoch-only.pth').message).toBe(
      'epoch-only.pth: holds no state_dict (no dict of tensors at the top level or under state_dict / model_state_dict / model / net); it holds a dict with keys epoch, lr',
    );
  });

  it('every hostile file the oracle wrote is covered above', () => {
    const covered = new Set([
      'global',
      'model',
      'torchscript',
      'bomb',
      'nostatedict',
      'bounds',
      'shape',
      'huge',
      'expand',
      'short',
      'truncated',
      'nodatapkl',
      'norecord',
      'quantized',
      'sparse',
      'nottorch',
      'nottorchzip',
    ]);
    for (const h of manifest.hostile) expect(covered.has(h.problem), h.file).toBe(true);
  });

  it('isTorchFile never throws, whatever the bytes', () => {
    const whole = read('small-zip.pth');
    for (let n = 0; n < whole.length; n += 37) expect(typeof isTorchFile(whole.subarray(0, n))).toBe('boolean');
    const leg = read('small-legacy.pth');
    for (let n = 0; n < 200; n++) expect(typeof isTorchFile(leg.subarray(0, n))).toBe('boolean');
  });
});
