/**
 * Time and peak memory to read a VGG-16-sized PyTorch state dict (528 MB: torchvision.models.vgg16() with
 * seeded random weights, saved at bench time by Debian's python3-torch in the zip and the legacy container),
 * from the file on disk to every tensor as float32. Each case runs in a fresh Node process so that its peak
 * RSS is its own; the values are checked against PyTorch's per-tensor sums. Legacy files are read twice:
 * with `inPlace` (storages moved into alignment inside the file's buffer) and copying misaligned storages;
 * one legacy file is made misaligned on purpose.
 *
 *   npx tsx scripts/bench-torch-read.ts [--file some.pth] [--json]
 *
 * Peak = max RSS of the reading process minus its RSS before the read, over the file size (the goal for
 * loading real weights is ≤ 1.2×: the file's bytes themselves plus little more).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTorchStateDict } from '../renderer/src/formats/torch-file';

interface Row {
  file: string;
  container: string;
  inPlace: boolean;
  bytes: number;
  tensors: number;
  params: number;
  readFileMs: number;
  parseMs: number;
  peakRssRatio: number;
  arrayBuffersRatio: number;
  /** Largest |sum − PyTorch's sum| / (PyTorch's sum of |x|) over all tensors; NaN when no sums were given. */
  maxSumError: number;
}

const SELF = fileURLToPath(import.meta.url);

/** The measurement itself, in a fresh process: `--child FILE inplace|copy [SUMS.json]`. */
function child(file: string, mode: string, sumsFile?: string): void {
  const before = process.memoryUsage();
  const t0 = performance.now();
  const buf = readFileSync(file);
  const t1 = performance.now();
  const sd = readTorchStateDict(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), basename(file), {
    inPlace: mode === 'inplace',
  });
  const t2 = performance.now();
  const sums = sumsFile ? (JSON.parse(readFileSync(sumsFile, 'utf8')) as Record<string, [number, number]>) : undefined;
  let params = 0;
  let maxSumError = sums ? 0 : NaN;
  for (const [k, t] of sd.tensors) {
    params += t.values.length;
    let s = 0;
    for (let i = 0; i < t.values.length; i++) s += t.values[i];
    if (sums) {
      const [want, abs] = sums[k];
      maxSumError = Math.max(maxSumError, Math.abs(s - want) / Math.max(abs, 1e-30));
    }
  }
  const after = process.memoryUsage();
  const peak = process.resourceUsage().maxRSS * 1024;
  const row: Row = {
    file: basename(file),
    container: sd.container,
    inPlace: mode === 'inplace',
    bytes: buf.byteLength,
    tensors: sd.tensors.size,
    params,
    readFileMs: t1 - t0,
    parseMs: t2 - t1,
    peakRssRatio: (peak - before.rss) / buf.byteLength,
    arrayBuffersRatio: (after.arrayBuffers - before.arrayBuffers) / buf.byteLength,
    maxSumError,
  };
  process.stdout.write(JSON.stringify(row) + '\n');
}

const GEN = `
import json, sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)
sd = torchvision.models.vgg16().state_dict()
torch.save(sd, out + '/vgg16-zip.pth')
torch.save(sd, out + '/vgg16-legacy.pth', _use_new_zipfile_serialization=False)
json.dump({k: [float(v.double().sum()), float(v.double().abs().sum())] for k, v in sd.items()}, open(out + '/sums.json', 'w'))
# A legacy file whose storages start off 4-byte alignment (as chance makes half of real legacy checkpoints,
# e.g. torchvision's older hub files): a checkpoint wrapper whose note length shifts the data.
import os
data = sum(8 + v.numel() * v.element_size() for v in sd.values())
for k in range(1, 8):
    p = out + '/vgg16-legacy-misaligned.pth'
    torch.save({'state_dict': sd, 'note': 'x' * k}, p, _use_new_zipfile_serialization=False)
    if (os.path.getsize(p) - data + 8) % 4:
        break
`;

function measure(file: string, mode: 'inplace' | 'copy', sums?: string): Row {
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, '--child', file, mode, ...(sums ? [sums] : [])], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`reading ${file} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Row;
}

function main(argv: string[]): void {
  if (argv[0] === '--child') return child(argv[1], argv[2], argv[3]);
  const json = argv.includes('--json');
  const fileArg = argv.indexOf('--file');
  const rows: Row[] = [];
  let dir = '';
  try {
    let files: string[];
    let sums: string | undefined;
    if (fileArg >= 0) files = [argv[fileArg + 1]];
    else {
      dir = mkdtempSync(join(tmpdir(), 'bench-torch-'));
      writeFileSync(join(dir, 'gen.py'), GEN);
      const g = spawnSync('/usr/bin/python3', [join(dir, 'gen.py'), dir], { encoding: 'utf8', timeout: 600_000 });
      if (g.status !== 0)
        throw new Error(`generating VGG-16 with python3-torch failed:\n${g.stderr || g.error?.message}`);
      files = ['vgg16-zip.pth', 'vgg16-legacy.pth', 'vgg16-legacy-misaligned.pth'].map((f) => join(dir, f));
      sums = join(dir, 'sums.json');
    }
    for (const f of files) {
      rows.push(measure(f, 'inplace', sums));
      if (rows[rows.length - 1].container === 'legacy') rows.push(measure(f, 'copy', sums));
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  if (json) return void process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
  for (const r of rows)
    console.log(
      `${r.file} (${r.container}${r.container === 'legacy' ? (r.inPlace ? ', inPlace' : ', copying') : ''}): ` +
        `${(r.bytes / 2 ** 20).toFixed(0)} MiB, ${r.tensors} tensors, ${(r.params / 1e6).toFixed(1)} M params — ` +
        `readFile ${r.readFileMs.toFixed(0)} ms + parse ${r.parseMs.toFixed(0)} ms; ` +
        `peak RSS ${r.peakRssRatio.toFixed(2)}× the file, ArrayBuffers ${r.arrayBuffersRatio.toFixed(2)}×` +
        (Number.isNaN(r.maxSumError) ? '' : `; sums vs PyTorch within ${r.maxSumError.toExponential(1)}`),
    );
}

main(process.argv.slice(2));
