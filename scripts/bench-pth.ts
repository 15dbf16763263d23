/**
 * `npm run bench -- --pth`: opening torchvision `.pth` state dicts (ResNet-50, VGG-16: torchvision's models with
 * seeded random weights, written by Debian's python3-torch at bench time into a temp folder; VGG-16 also in the
 * legacy container), measured in this one run:
 * - time from the file's bytes to the first feature map of a pass (wasm, Node), against the zoo's build of the
 *   same architecture with seeded weights (its Keras Applications variant: the same layers and sizes) to its
 *   first feature map, as a ratio;
 * - peak memory of the registry's open (file bytes → IR weights), as a ratio to the file's size: the bytes
 *   handed over (consumable, as the engine's worker hands them: converted in place) and kept by the caller
 *   (converted into new arrays: one more copy is unavoidable there). Goal ≤ 1.2× for the handed-over bytes.
 * - peak memory of the engine's whole open to the first frame (the weights are also copied into the wasm heap).
 * Each memory case runs in a fresh Node process (its peak RSS is its own): peak = max RSS − RSS before reading.
 *
 *   npx tsx scripts/bench-pth.ts [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openModelFiles } from '../renderer/src/formats';
import { createNodeEngine, imageFromFile } from '../renderer/src/engine/node';
import type { Engine } from '../renderer/src/engine/engine';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SAMPLE = join(ROOT, 'resources/samples/chelsea.png');

/** One state dict of the bench: torchvision builder, the zoo id of the same architecture, containers written. */
const MODELS = [
  { arch: 'resnet50', zoo: 'resnet50', containers: ['zip'] },
  { arch: 'vgg16', zoo: 'vgg16', containers: ['zip', 'legacy'] },
] as const;

export interface PthRow {
  model: string;
  file: string;
  container: string;
  bytes: number;
  /** Registry open of bytes handed over (consumable): peak RSS − RSS before reading, over the file size. */
  openPeakRatio: number;
  /** ArrayBuffers held after that open (the weights), over the file size. */
  openHeldRatio: number;
  /** That open's time, ms (file bytes in memory → IR weights). */
  openMs: number;
  /** The open of kept bytes, ms. */
  keptOpenMs: number;
  /** The same open of bytes the caller keeps (one converted copy). */
  keptPeakRatio: number;
  /** Engine (wasm): the file's bytes → first frame, ms. */
  pthFirstFrameMs: number;
  /** Of which: the format's open (bytes → IR weights), and until the runner is built (weights in wasm tensors). */
  engineOpenMs: number;
  engineBuiltMs: number;
  /** Engine (wasm): the zoo's seeded build of the architecture → first frame, ms. */
  seededFirstFrameMs: number;
  /** pthFirstFrameMs / seededFirstFrameMs. */
  ratio: number;
  /** Engine open → first frame of the .pth, peak RSS − RSS before reading, over the file size. */
  enginePeakRatio: number;
}

const GEN = `
import sys, torch, torchvision
out, arch, containers = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
torch.manual_seed(0)
sd = getattr(torchvision.models, arch)(weights=None).state_dict()
for c in containers:
    torch.save(sd, f'{out}/{arch}-{c}.pth', _use_new_zipfile_serialization=(c == 'zip'))
`;

const peakSince = (rss0: number) => process.resourceUsage().maxRSS * 1024 - rss0;

/** `--child open FILE consumable|kept`: the registry's open alone. */
async function childOpen(file: string, mode: string): Promise<object> {
  const before = process.memoryUsage();
  const buf = readFileSync(file);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const t0 = performance.now();
  const opened = await openModelFiles(
    [{ path: basename(file), bytes, ...(mode === 'consumable' ? { consumable: true } : {}) }],
    basename(file),
  );
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  let floats = 0;
  for (const ts of opened.weights.values()) for (const t of ts) floats += t.data.length;
  return {
    peak: peakSince(before.rss) / buf.byteLength,
    held: (after.arrayBuffers - before.arrayBuffers) / buf.byteLength,
    ms,
    floats,
  };
}

/** Loads, then runs one pass until its first frame: ms from the start of the load. */
async function firstFrame(engine: Engine, load: () => Promise<{ id: string }>): Promise<number> {
  const image = await imageFromFile(SAMPLE);
  const t0 = performance.now();
  const s = await load();
  let first = -1;
  await engine.analyze(
    { modelId: s.id, image },
    {
      image: () => {},
      frame: () => {
        if (first < 0) first = performance.now();
      },
    },
  );
  await engine.unloadModel(s.id);
  return first - t0;
}

/**
 * `--child engine FILE ZOO_ID`: the file → first frame, then the seeded build → first frame, in one engine, after
 * an untimed warm-up on the zoo's MobileNetV2 (wasm start-up and JIT are neither's cost). The file goes first:
 * the seeded pass would leave VGG-16-sized wasm memory behind, hiding the file's own peak.
 */
async function childEngine(file: string, zoo: string): Promise<object> {
  const engine = createNodeEngine({ warmUp: false, ownsUserFiles: true });
  await engine.hello(join(ROOT, 'resources/'), ['wasm']);
  await firstFrame(engine, () => engine.loadModel('mobilenetv2'));
  const rss0 = process.memoryUsage().rss;
  // The bytes as the worker gets them (its own copy): one ArrayBuffer of the file (a large read is not pooled).
  const b = readFileSync(file);
  const size = b.byteLength;
  const whole = b.byteOffset === 0 && b.buffer.byteLength === size;
  const bytes = whole ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + size);
  // 'build' 0 comes twice: before the format's open and once the runner's build starts; 'build' 1 once it is built.
  const builds: number[] = [];
  let t0 = 0;
  const pth = await firstFrame(engine, () => {
    t0 = performance.now();
    return engine.loadUserModel({ name: basename(file), files: [{ path: basename(file), bytes }] }, (phase) => {
      if (phase === 'build') builds.push(performance.now() - t0);
    });
  });
  const enginePeak = peakSince(rss0) / size;
  const seeded = await firstFrame(engine, () => engine.loadModel(zoo));
  await engine.dispose();
  return { seeded, pth, enginePeak, openMs: builds[1] ?? NaN, builtMs: builds[2] ?? NaN };
}

function child(args: string[]): object {
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`bench-pth ${args.join(' ')} failed:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as object;
}

/** Every model and container; a model whose file torch cannot write is skipped with a line saying why. */
export function runPthBench(opts: { log?: (line: string) => void } = {}): PthRow[] {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'fme-bench-pth-'));
  const rows: PthRow[] = [];
  try {
    writeFileSync(join(dir, 'gen.py'), GEN);
    for (const m of MODELS) {
      const g = spawnSync('/usr/bin/python3', [join(dir, 'gen.py'), dir, m.arch, m.containers.join(',')], {
        encoding: 'utf8',
        timeout: 600_000,
      });
      if (g.status !== 0) {
        const why = (g.stderr || g.error?.message || 'python failed').trim().split('\n').pop();
        log(
          `skipped ${m.arch}: torch could not write its state dict (${why}); install python3-torch python3-torchvision`,
        );
        continue;
      }
      for (const c of m.containers) {
        const file = join(dir, `${m.arch}-${c}.pth`);
        log(`${m.arch} (${c})…`);
        const open = child(['open', file, 'consumable']) as { peak: number; held: number; ms: number };
        const kept = child(['open', file, 'kept']) as { peak: number; ms: number };
        const eng = child(['engine', file, m.zoo]) as {
          seeded: number;
          pth: number;
          enginePeak: number;
          openMs: number;
          builtMs: number;
        };
        rows.push({
          model: m.arch,
          file: basename(file),
          container: c,
          bytes: readFileSync(file).byteLength,
          openPeakRatio: open.peak,
          openHeldRatio: open.held,
          openMs: open.ms,
          keptOpenMs: kept.ms,
          keptPeakRatio: kept.peak,
          pthFirstFrameMs: eng.pth,
          engineOpenMs: eng.openMs,
          engineBuiltMs: eng.builtMs,
          seededFirstFrameMs: eng.seeded,
          ratio: eng.pth / eng.seeded,
          enginePeakRatio: eng.enginePeak,
        });
        rmSync(file);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function pthTable(rows: PthRow[]): string {
  const x = (v: number) => `${v.toFixed(2)}×`;
  const out = [
    'state dict | MiB | open ms, peak (handed over) | held | open ms, peak (kept) | .pth → first frame ms | seeded → first frame ms | ratio | engine peak',
  ];
  for (const r of rows)
    out.push(
      `${r.file} | ${(r.bytes / 2 ** 20).toFixed(0)} | ${r.openMs.toFixed(0)}, ${x(r.openPeakRatio)} | ${x(r.openHeldRatio)} | ` +
        `${r.keptOpenMs.toFixed(0)}, ${x(r.keptPeakRatio)} | ` +
        `${r.pthFirstFrameMs.toFixed(0)} (open ${r.engineOpenMs.toFixed(0)}, built ${r.engineBuiltMs.toFixed(0)}) | ` +
        `${r.seededFirstFrameMs.toFixed(0)} | ${x(r.ratio)} | ${x(r.enginePeakRatio)}`,
    );
  out.push('(peaks: max RSS − RSS before reading, over the file size; goal for the handed-over open ≤ 1.20×)');
  return out.join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    const r = argv[1] === 'open' ? await childOpen(argv[2], argv[3]) : await childEngine(argv[2], argv[3]);
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const json = argv.includes('--json');
  const rows = runPthBench({ log: (l) => console.error(l) });
  console.log(json ? JSON.stringify(rows, null, 1) : pthTable(rows));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
