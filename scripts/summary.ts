/**
 * `npm run -s summary -- <model> [--input HxW] [--json]`: a Keras-style model.summary() with receptive fields and
 * multiply-accumulates, for a zoo architecture, a bundled pretrained model (`<id>-pretrained`) or a model.json path.
 * Exit codes: 0 ok, 1 the model could not be read or analysed, 2 bad usage. Errors are one line on stderr.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  analyzeGraph,
  analyzeModelJson,
  CONVENTIONS,
  fmt,
  parseModelJson,
  type LayerAnalysis,
  type ModelAnalysis,
  type Pair,
} from '../renderer/src/analysis';
import { getZooGraph, isZooId, ZOO_IDS } from '../renderer/src/zoo';
import { InputError } from '../renderer/src/engine/image-header';
import { buildArtifacts, parseModelJsonFile } from '../renderer/src/engine/model-files';

const MODELS_DIR = fileURLToPath(new URL('../resources/models/', import.meta.url));

const USAGE = `usage: npm run -s summary -- <model> [--input HxW] [--json]
  <model>  ${ZOO_IDS.join(', ')} (untrained architectures with 1000-class heads),
           <id>-pretrained for a bundled model in resources/models/<id>/ (mobilenetv2-pretrained, inceptionv3-pretrained),
           or a path to a tfjs layers-model model.json (or its folder)
  --input  input size, e.g. 224x224 (default: the model's own)
  --json   print one JSON object instead of the table`;

/** A usage or lookup problem, reported as one line. */
class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

interface Args {
  model: string;
  input?: Pair;
  json: boolean;
}

function parseArgs(argv: string[]): Args | 'help' {
  let model: string | undefined;
  let input: Pair | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--json') json = true;
    else if (a === '--input' || a.startsWith('--input=')) {
      const v = a === '--input' ? argv[++i] : a.slice('--input='.length);
      const m = v ? /^(\d+)\s*[x×,]\s*(\d+)$/i.exec(v.trim()) : null;
      if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0)
        throw new CliError(
          `--input expects HxW with positive integers, e.g. 224x224 (got ${JSON.stringify(v ?? '')})`,
          2,
        );
      input = [Number(m[1]), Number(m[2])];
    } else if (a.startsWith('--')) throw new CliError(`unknown option ${a} (see --help)`, 2);
    else if (model === undefined) model = a;
    else throw new CliError(`more than one model given ("${model}", "${a}")`, 2);
  }
  if (!model) throw new CliError('no model given (see --help)', 2);
  return { model, input, json };
}

/** Resolves the model argument and analyses it, noting where --input changes a dense layer's weights. */
function analyse(args: Args): ModelAnalysis {
  const a = analyseModel(args);
  if (!args.input) return a;
  const native = analyseModel({ ...args, input: undefined }).input;
  if (native[0] === args.input[0] && native[1] === args.input[1]) return a;
  const byId = new Map(a.layers.map((l) => [l.id, l]));
  const resized = a.layers.filter((l) => l.kind === 'dense' && l.inputs.some((i) => byId.get(i)?.kind === 'flatten'));
  if (!resized.length) return a;
  const names = resized.map((l) => l.name).join(', ');
  return {
    ...a,
    warnings: [
      ...a.warnings,
      `${names} follow${resized.length > 1 ? '' : 's'} a Flatten, so ${resized.length > 1 ? 'their' : 'its'} weights ` +
        `depend on the input size: at ${args.input.join('×')} the count differs from the published model at ` +
        `${native[0]}×${native[1]}, whose trained head accepts only that size`,
    ],
  };
}

function analyseModel(args: Args): ModelAnalysis {
  const opts = args.input ? { input: args.input } : {};
  if (isZooId(args.model)) return analyzeGraph(getZooGraph(args.model, opts));
  let file: string;
  const pre = /^(.+)-pretrained$/.exec(args.model);
  if (pre && !existsSync(args.model)) {
    file = join(MODELS_DIR, pre[1], 'model.json');
    if (!existsSync(file)) {
      throw new CliError(
        `no bundled pretrained model "${pre[1]}" (looked for ${file}; run npm install to convert the bundled models)`,
        1,
      );
    }
  } else {
    file = resolve(args.model);
    if (!existsSync(file)) {
      throw new CliError(
        `unknown model "${args.model}": not a built-in (${ZOO_IDS.join(', ')}, <id>-pretrained) and no such file`,
        1,
      );
    }
    if (statSync(file).isDirectory()) file = join(file, 'model.json');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1);
  }
  const analysis = analyzeModelJson(parseModelJson(text, file), file, opts);
  checkWeightFiles(text, file);
  return analysis;
}

/**
 * The app refuses a model whose weight files are missing, the wrong size or outside its folder; so does
 * the CLI, with the engine's own checks, rather than print numbers for a model that cannot be loaded.
 */
function checkWeightFiles(text: string, file: string): void {
  const dir = dirname(file);
  try {
    const info = parseModelJsonFile(text, basename(file));
    const shards = new Map<string, ArrayBuffer>();
    for (const p of info.resolvedPaths.flat()) {
      const path = join(dir, p);
      if (existsSync(path)) shards.set(p, new Uint8Array(readFileSync(path)).buffer);
    }
    buildArtifacts(info, shards, basename(file));
  } catch (e) {
    if (e instanceof InputError) throw new CliError(`${dir}/${e.message}`, 1);
    throw e;
  }
}

/** At most `n` warnings, then how many more: one unknown layer makes every later shape unknown. */
function firstWarnings(warnings: string[], n = 5): string[] {
  return warnings.length > n ? [...warnings.slice(0, n), `… and ${warnings.length - n} more`] : warnings;
}

const rfText = (l: LayerAnalysis): string => {
  const rf = l.receptiveField;
  if (!rf) return '-';
  const two = (p: Pair) => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);
  return `${two(rf.size)} / ${two(rf.jump)} / ${two(rf.start)}${rf.paths && rf.paths.length > 1 ? ` (${rf.paths.length} paths)` : ''}`;
};

const shapeText = (s: number[]): string => (s.length ? `(${s.join(', ')})` : '(unknown)');

/** 15470264320 → "15.47 G". */
function short(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return `${n}`;
}

const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)}%` : '0%');

/** The Keras-style table plus totals, stages, conventions and warnings. */
function renderText(label: string, a: ModelAnalysis): string {
  const headers = ['Layer (type)', 'Output Shape', 'Param #', 'MACs', 'RF size / jump / start', 'Connected to'];
  const rows = a.layers.map((l) => [
    `${l.name} (${l.className})`,
    shapeText(l.outputShape),
    fmt(l.params.total),
    l.macs ? fmt(l.macs) : '0',
    rfText(l),
    l.inputs.join(', '),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = new Set([2, 3]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const total = widths.reduce((s, w) => s + w + 2, -2);
  const out: string[] = [];
  out.push(`Model: "${a.name ?? label}"  (input ${a.input.join('×')})`);
  out.push('_'.repeat(total));
  out.push(line(headers));
  out.push('='.repeat(total));
  rows.forEach((r) => out.push(line(r)));
  out.push('='.repeat(total));
  const t = a.totals;
  out.push(`Total params: ${fmt(t.params)} (${((t.params * 4) / 2 ** 20).toFixed(2)} MB as float32)`);
  out.push(`Trainable params: ${fmt(t.trainable)}`);
  out.push(`Non-trainable params: ${fmt(t.nonTrainable)} (BatchNorm moving mean/variance; Keras convention)`);
  out.push(`Params without BN statistics (PyTorch convention): ${fmt(t.paramsWithoutBnStats)}`);
  if (t.frozenParams) out.push(`Saved as frozen (trainable: false) in the file: ${fmt(t.frozenParams)}`);
  out.push(`Multiply-accumulates: ${fmt(t.macs)} MACs (${short(t.macs)}; FLOPs = 2 × MACs = ${short(2 * t.macs)})`);
  out.push(
    `Dense layers: ${fmt(t.denseParams)} params (${pct(t.denseParams, t.params)}); conv layers: ${fmt(t.convParams)} (${pct(t.convParams, t.params)}); weighted layers: ${t.depth}`,
  );
  const lastSpatial = [...a.layers].reverse().find((l) => l.receptiveField);
  if (lastSpatial?.receptiveField) {
    const rf = lastSpatial.receptiveField;
    out.push(
      `Receptive field of the last spatial layer "${lastSpatial.name}": ${rf.size.join('×')} px, jump ${rf.jump.join('×')}, start ${rf.start.join(', ')}`,
    );
  }
  out.push('');
  out.push('Stages (layers grouped by output resolution):');
  const stageRows = a.stages.map((s) => [
    `${s.index}`,
    s.resolution.join('×'),
    `${s.layerIds.length}`,
    fmt(s.params),
    fmt(s.macs),
  ]);
  const sh = ['#', 'resolution', 'layers', 'params', 'MACs'];
  const sw = sh.map((h, i) => Math.max(h.length, ...stageRows.map((r) => r[i].length)));
  const sline = (r: string[]) => '  ' + r.map((c, i) => (i >= 2 ? c.padStart(sw[i]) : c.padEnd(sw[i]))).join('  ');
  out.push(sline(sh));
  stageRows.forEach((r) => out.push(sline(r)));
  out.push('');
  out.push('Conventions:');
  CONVENTIONS.split('\n').forEach((c) => out.push(`  - ${c}`));
  if (a.warnings.length) {
    out.push('');
    out.push('Warnings:');
    firstWarnings(a.warnings).forEach((w) => out.push(`  - ${w}`));
  }
  return out.join('\n');
}

/** The `--json` object (exactly these keys). */
function toJson(label: string, a: ModelAnalysis): object {
  return {
    model: label,
    input: a.input,
    totalParams: a.totals.params,
    trainableParams: a.totals.trainable,
    nonTrainableParams: a.totals.nonTrainable,
    totalMacs: a.totals.macs,
    layers: a.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      outputShape: l.outputShape,
      params: l.params.total,
      macs: l.macs,
      receptiveField: l.receptiveField
        ? { size: l.receptiveField.size, jump: l.receptiveField.jump, start: l.receptiveField.start }
        : null,
    })),
  };
}

function main(argv: string[]): number {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    const analysis = analyse(args);
    if (args.json) {
      process.stdout.write(JSON.stringify(toJson(args.model, analysis)) + '\n');
      for (const w of firstWarnings(analysis.warnings)) process.stderr.write(`warning: ${w}\n`);
    } else {
      process.stdout.write(renderText(args.model, analysis) + '\n');
    }
    return 0;
  } catch (e) {
    const msg = (e as Error).message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`summary: ${msg}\n`);
    return e instanceof CliError ? e.code : 1;
  }
}

process.exitCode = main(process.argv.slice(2));
