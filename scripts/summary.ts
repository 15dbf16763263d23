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
  parseModelJson,
  type ModelAnalysis,
  type Pair,
} from '../renderer/src/analysis';
import { openModelFiles } from '../renderer/src/formats';
import { CliError, firstWarnings, layerJson, oneLine, readModelArg, renderTable } from './model-cli';
import { getZooGraph, isZooId, ZOO_IDS } from '../renderer/src/zoo';
import { InputError } from '../renderer/src/engine/image-header';
import { buildArtifacts, parseModelJsonFile } from '../renderer/src/engine/model-files';

const MODELS_DIR = fileURLToPath(new URL('../resources/models/', import.meta.url));

const USAGE = `usage: npm run -s summary -- <model> [--input HxW] [--json]
  <model>  ${ZOO_IDS.join(', ')} (untrained architectures with 1000-class heads),
           <id>-pretrained for a bundled model in resources/models/<id>/ (mobilenetv2-pretrained, inceptionv3-pretrained),
           or a model file or folder: Keras .h5/.hdf5/.keras, ONNX .onnx, a tfjs model.json (or its folder),
           a Teachable Machine export
  --input  input size, e.g. 224x224 (default: the model's own)
  --json   print one JSON object instead of the table`;

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

async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(USAGE + '\n');
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
