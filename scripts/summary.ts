/**
 * `npm run -s summary -- <model> [--input HxW] [--json]`: a Keras-style model.summary() with receptive fields and
 * multiply-accumulates, for a zoo architecture, a bundled pretrained model (`<id>-pretrained`) or a model.json path.
 * With `--preset NAME`, `--knob K=V` or `--edit LAYER.FIELD=VALUE` (zoo architectures): the what-if editor — the
 * edited network's table and its diff against the original (analysis/edit.ts).
 * Exit codes: 0 ok, 1 the model could not be read or analysed, 2 bad usage, 3 the edited network breaks (the first
 * failing layer and its formula on stderr). Errors are one line on stderr.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  analyzeGraph,
  analyzeModelJson,
  fmt,
  parseModelJson,
  type ModelAnalysis,
  type Pair,
} from '../renderer/src/analysis';
import { openModelFiles } from '../renderer/src/formats';
import { CliError, firstWarnings, layerJson, oneLine, readModelArg, renderDiff, renderTable } from './model-cli';
import { getZooGraph, isZooId, ZOO_IDS, zooKnobs, type KnobValues, type ZooId } from '../renderer/src/zoo';
import { EditError, evaluateEdit, signed, type EditResult, type LayerEdit } from '../renderer/src/analysis/edit';
import { parseEditArg } from '../renderer/src/analysis/edit-file';
import { buildEdit, PRESETS, type BuiltEdit } from '../renderer/src/analysis/edit-presets';
import { InputError } from '../common/image-header';
import { buildArtifacts, parseModelJsonFile } from '../renderer/src/engine/model-files';

const MODELS_DIR = fileURLToPath(new URL('../resources/models/', import.meta.url));

const USAGE = `usage: npm run -s summary -- <model> [--input HxW] [--json]
  <model>  ${ZOO_IDS.join(', ')} (untrained architectures with 1000-class heads),
           <id>-pretrained for a bundled model in resources/models/<id>/ (mobilenetv2-pretrained, inceptionv3-pretrained),
           or a model file or folder: Keras .h5/.hdf5/.keras, ONNX .onnx, a tfjs model.json (or its folder),
           a Teachable Machine export
  --input  input size, e.g. 224x224 (default: the model's own)
  --json   print one JSON object instead of the table
what-if edits of a built-in architecture (the table of the edited network, then its diff against the original):
  --preset NAME        one of the lecture's comparisons; --preset list shows them with their numbers
  --knob KNOB=VALUE    an architecture knob (repeatable), e.g. --knob growthRate=12; --knob list shows a model's knobs
  --edit LAYER.FIELD=VALUE  (repeatable) FIELD: kernel, stride, padding, dilation, filters (conv / pool), units (dense);
                       VALUE: 5, 5x3, same, valid, 1 (pixels each side) or 1,1,0,0 (top, bottom, left, right)
  --strict             an output size (I + 2P − K)/S + 1 that is not whole is a break, not a warning
  exit code 3: the edited network breaks (first failing layer and its formula on stderr)`;

interface Args {
  model: string;
  input?: Pair;
  json: boolean;
  preset?: string;
  knobs: KnobValues;
  edits: LayerEdit[];
  strict: boolean;
  /** `--knob list`. */
  listKnobs: boolean;
}

/** `--opt value` or `--opt=value`; advances `i` past a separate value. */
function optValue(argv: string[], i: number, name: string): [string, number] {
  const a = argv[i];
  if (a === name) {
    const v = argv[i + 1];
    if (v === undefined) throw new CliError(`${name} needs a value (see --help)`, 2);
    return [v, i + 1];
  }
  return [a.slice(name.length + 1), i];
}

function parseArgs(argv: string[]): Args | 'help' | 'presets' {
  let model: string | undefined;
  let input: Pair | undefined;
  let json = false;
  let preset: string | undefined;
  let strict = false;
  let listKnobs = false;
  const knobs: KnobValues = {};
  const edits: LayerEdit[] = [];
  let listPresets = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const opt = (name: string) => a === name || a.startsWith(`${name}=`);
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--json') json = true;
    else if (a === '--strict') strict = true;
    else if (opt('--preset')) {
      const [v, j] = optValue(argv, i, '--preset');
      i = j;
      if (v === 'list') listPresets = true;
      else if (preset !== undefined) throw new CliError(`more than one --preset ("${preset}", "${v}")`, 2);
      else preset = v;
    } else if (opt('--knob')) {
      const [v, j] = optValue(argv, i, '--knob');
      i = j;
      if (v === 'list') listKnobs = true;
      else {
        const m = /^([A-Za-z][\w]*)=(-?\d+(?:\.\d+)?)$/.exec(v.trim());
        if (!m) throw new CliError(`--knob expects KNOB=NUMBER, e.g. growthRate=12 (got ${JSON.stringify(v)})`, 2);
        knobs[m[1]] = Number(m[2]);
      }
    } else if (opt('--edit')) {
      const [v, j] = optValue(argv, i, '--edit');
      i = j;
      try {
        edits.push(parseEditArg(v));
      } catch (e) {
        throw new CliError((e as Error).message, 2);
      }
    } else if (a === '--input' || a.startsWith('--input=')) {
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
  if (listPresets && model === undefined) return 'presets';
  if (listPresets) throw new CliError('--preset list takes no model', 2);
  if (!model) throw new CliError('no model given (see --help)', 2);
  return { model, input, json, preset, knobs, edits, strict, listKnobs };
}

const editing = (args: Args): boolean =>
  args.preset !== undefined || args.edits.length > 0 || Object.keys(args.knobs).length > 0;

/** Builds and evaluates the edit of a zoo architecture; bad edits are usage errors (exit 2). */
function runEdit(args: Args): { built: BuiltEdit; result: EditResult } {
  if (!isZooId(args.model)) {
    throw new CliError(
      `--preset, --knob and --edit apply to the built-in architectures (${ZOO_IDS.join(', ')}), not "${args.model}"`,
      2,
    );
  }
  let built: BuiltEdit;
  try {
    built = buildEdit(
      { base: args.model, preset: args.preset, knobs: args.knobs, edits: args.edits },
      args.input ? { input: args.input } : {},
    );
  } catch (e) {
    throw new CliError(`${args.model}: ${(e as Error).message}`, e instanceof EditError || e instanceof Error ? 2 : 1);
  }
  return { built, result: evaluateEdit(built.base, built.edited, { strict: args.strict, touched: built.touched }) };
}

/** `--preset list`: every preset with its explanation and the numbers it gives. */
function presetList(json: boolean): string {
  const rows = PRESETS.map((p) => {
    const built = buildEdit({ base: p.base, preset: p.id, edits: [] });
    const r = evaluateEdit(built.base, built.edited, { fast: true, touched: built.touched });
    const t = r.diff?.totals;
    return { p, t };
  });
  if (json) {
    return JSON.stringify(
      rows.map(({ p, t }) => ({
        name: p.id,
        base: p.base,
        title: p.title,
        explanation: p.explanation,
        knobs: p.knobs ?? {},
        edits: p.edits ?? [],
        paramsBefore: t?.paramsBefore,
        paramsAfter: t?.paramsAfter,
        macsBefore: t?.macsBefore,
        macsAfter: t?.macsAfter,
      })),
    );
  }
  const out: string[] = [];
  for (const { p, t } of rows) {
    out.push(`${p.id}  (${p.base})  ${p.title}`);
    out.push(`    ${p.explanation}`);
    if (t) {
      out.push(
        `    params ${fmt(t.paramsBefore)} → ${fmt(t.paramsAfter)} (${signed(t.paramsAfter - t.paramsBefore)}); ` +
          `MACs ${fmt(t.macsBefore)} → ${fmt(t.macsAfter)} (${signed(t.macsAfter - t.macsBefore)})`,
      );
    }
  }
  return out.join('\n');
}

function knobList(id: ZooId): string {
  const ks = zooKnobs(id);
  if (!ks.length) return `${id} has no architecture knobs (its layers can still be edited with --edit)`;
  return ks
    .map(
      (k) =>
        `${k.id}  ${k.boolean ? '0 / 1' : `${k.min} … ${k.max} step ${k.step}`}, default ${k.defaultValue}: ${k.description}`,
    )
    .join('\n');
}

/** Resolves the model argument and analyses it, noting where --input changes a dense layer's weights. */
async function analyse(args: Args): Promise<ModelAnalysis> {
  const a = await analyseModel(args);
  if (!args.input) return a;
  const native = (await analyseModel({ ...args, input: undefined })).input;
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

async function analyseModel(args: Args): Promise<ModelAnalysis> {
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
    const dir = statSync(file).isDirectory();
    // Everything but a tfjs model.json goes through the format registry, as in the app.
    if ((dir && !existsSync(join(file, 'model.json'))) || (!dir && !file.toLowerCase().endsWith('.json'))) {
      const files = readModelArg(file);
      const opened = await openModelFiles(
        files.files.map((f) => ({ path: f.path, bytes: new Uint8Array(f.bytes) })),
        files.name,
      );
      return analyzeGraph(opened.graph, opts);
    }
    if (dir) file = join(file, 'model.json');
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

/** The `--json` object (exactly these keys). */
function toJson(label: string, a: ModelAnalysis): object {
  return {
    model: label,
    input: a.input,
    totalParams: a.totals.params,
    trainableParams: a.totals.trainable,
    nonTrainableParams: a.totals.nonTrainable,
    totalMacs: a.totals.macs,
    layers: a.layers.map(layerJson),
  };
}

/** The diff in `--json`: totals, the final field, and every layer that is not the same. */
function diffJson(d: NonNullable<EditResult['diff']>): object {
  return {
    totals: d.totals,
    finalRf: d.finalRf,
    changed: d.changed,
    layers: d.layers.filter((r) => r.status !== 'same'),
  };
}

async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (args === 'presets') {
      process.stdout.write(presetList(argv.includes('--json')) + '\n');
      return 0;
    }
    if (args.listKnobs) {
      if (!isZooId(args.model)) throw new CliError(`--knob list: "${args.model}" is not a built-in architecture`, 2);
      process.stdout.write(knobList(args.model) + '\n');
      return 0;
    }
    if (editing(args)) {
      const { built, result } = runEdit(args);
      if (result.broken) {
        process.stderr.write(`summary: the edited ${args.model} breaks at ${result.broken.message}\n`);
        return 3;
      }
      const analysis = result.analysis as ModelAnalysis;
      const diff = result.diff as NonNullable<EditResult['diff']>;
      const label = `${args.model} (edited${args.preset ? `: ${args.preset}` : ''})`;
      if (args.json) {
        const edit = { preset: args.preset ?? null, knobs: built.knobs, edits: built.edits };
        process.stdout.write(
          JSON.stringify({ ...toJson(args.model, analysis), edit, diff: diffJson(diff), warnings: result.warnings }) +
            '\n',
        );
      } else {
        const preset = args.preset ? PRESETS.find((p) => p.id === args.preset) : undefined;
        const head = preset ? `Preset ${preset.id}: ${preset.title}\n  ${preset.explanation}\n\n` : '';
        process.stdout.write(head + renderTable(label, { ...analysis, warnings: result.warnings }) + '\n\n');
        process.stdout.write(renderDiff(diff) + '\n');
      }
      return 0;
    }
    const analysis = await analyse(args);
    if (args.json) {
      process.stdout.write(JSON.stringify(toJson(args.model, analysis)) + '\n');
      for (const w of firstWarnings(analysis.warnings)) process.stderr.write(`warning: ${w}\n`);
    } else {
      process.stdout.write(renderTable(args.model, analysis) + '\n');
    }
    return 0;
  } catch (e) {
    process.stderr.write(`summary: ${oneLine(e)}\n`);
    return e instanceof CliError ? e.code : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
