/**
 * `npm run -s inspect -- <model file or folder> [--image photo.jpg] [--json] [conventions]`: opens a model of any
 * format the app reads (Keras .h5 / .keras, ONNX, tfjs, Teachable Machine), runs one image through it with the
 * app's engine (wasm, else cpu), and prints the layer table with each layer's activation min / mean / max and the
 * top-5 prediction. Conventions: --range 0,1|0,255|-1,1, --mean R,G,B, --std R,G,B, --grey / --rgb, --bgr,
 * --resize stretch|center-crop|letterbox; none given → the model's own or the stated default (the JSON says which).
 * Exit codes: 0 ok, 1 the model or image could not be read or run, 2 bad usage. Errors are one line on stderr.
 */
import { fileURLToPath } from 'node:url';
import type { LayerAnalysis } from '../renderer/src/analysis';
import { createNodeEngine, imageFromFile } from '../renderer/src/engine/node';
import type { LayerFrame, Prediction, Preprocess, ResizePolicy } from '../common/engine-protocol';
import { CliError, firstWarnings, layerJson, oneLine, readModelArg, renderTable } from './model-cli';

const DEFAULT_IMAGE = fileURLToPath(new URL('../resources/samples/chelsea.png', import.meta.url));

const USAGE = `usage: npm run -s inspect -- <model file or folder> [--image photo.jpg] [--json] [conventions]
  <model>   a Keras .h5/.hdf5/.keras file, an ONNX .onnx file (with its .onnx.data beside it), a tfjs
            model.json folder or a Teachable Machine export
  --image   the photo to run (default: resources/samples/chelsea.png)
  --json    print one JSON object instead of the table
  conventions (default: the model's own, else RGB in [0, 1], center-crop):
  --range 0,1 | 0,255 | -1,1     value range of the input
  --mean R,G,B  --std R,G,B      per-channel normalisation after the range (e.g. ImageNet's)
  --grey | --rgb                 colour input (grey only for models with one input channel)
  --bgr                          channel order BGR (Caffe-style models)
  --resize stretch|center-crop|letterbox`;

interface Args {
  model: string;
  image: string;
  json: boolean;
  preprocess: Partial<Preprocess>;
  grey?: boolean;
}

const triple = (v: string | undefined, what: string): [number, number, number] => {
  const parts = (v ?? '').split(',').map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)))
    throw new CliError(`${what} expects three numbers R,G,B (got ${JSON.stringify(v ?? '')})`, 2);
  return [parts[0], parts[1], parts[2]];
};

const RANGES: Record<string, { scale: number; offset: number }> = {
  '0,1': { scale: 1, offset: 0 },
  '0,255': { scale: 255, offset: 0 },
  '-1,1': { scale: 2, offset: -1 },
};

function parseArgs(argv: string[]): Args | 'help' {
  let model: string | undefined;
  let image = DEFAULT_IMAGE;
  let json = false;
  let grey: boolean | undefined;
  const pre: Partial<Preprocess> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i]];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CliError(`${flag} needs a value (see --help)`, 2);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--json':
        json = true;
        break;
      case '--image':
        image = value();
        break;
      case '--range': {
        const v = value().replace(/\s/g, '');
        const r = RANGES[v];
        if (!r) throw new CliError(`--range expects 0,1 or 0,255 or -1,1 (got ${JSON.stringify(v)})`, 2);
        Object.assign(pre, r);
        break;
      }
      case '--mean':
        pre.mean = triple(value(), '--mean');
        break;
      case '--std': {
        const s = triple(value(), '--std');
        if (s.some((x) => x <= 0)) throw new CliError('--std values must be positive', 2);
        pre.std = s;
        break;
      }
      case '--grey':
      case '--gray':
        grey = true;
        break;
      case '--rgb':
        grey = false;
        break;
      case '--bgr':
        pre.channelOrder = 'bgr';
        break;
      case '--resize': {
        const v = value();
        if (v !== 'stretch' && v !== 'center-crop' && v !== 'letterbox')
          throw new CliError(`--resize expects stretch, center-crop or letterbox (got ${JSON.stringify(v)})`, 2);
        pre.resize = v as ResizePolicy;
        break;
      }
      default:
        if (flag.startsWith('-')) throw new CliError(`unknown option ${flag} (see --help)`, 2);
        if (model !== undefined) throw new CliError(`more than one model given ("${model}", "${flag}")`, 2);
        model = flag;
    }
  }
  if (!model) throw new CliError('no model given (see --help)', 2);
  return { model, image, json, preprocess: pre, grey };
}

/** Per layer: exact min / max (each channel's range is exact) and the mean of the 8-bit values (±range/510). */
interface ActStats {
  min: number;
  mean: number;
  max: number;
}

function frameStats(f: LayerFrame): ActStats {
  const [h, w, c] = f.shape;
  const plane = h * w;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let ch = 0; ch < c; ch++) {
    const lo = f.min[ch];
    const hi = f.max[ch];
    min = Math.min(min, lo);
    max = Math.max(max, hi);
    let s = 0;
    for (let i = ch * plane; i < (ch + 1) * plane; i++) s += f.data[i];
    sum += plane * lo + (s / 255) * (hi - lo);
  }
  return { min, mean: sum / Math.max(1, plane * c), max };
}

const num = (v: number) =>
  Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? v.toExponential(2) : v.toFixed(3);

async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    const files = readModelArg(args.model);
    const engine = createNodeEngine({ warmUp: false });
    await engine.hello('', ['wasm', 'cpu']);
    let summary;
    try {
      summary = await engine.loadUserModel(files);
    } catch (e) {
      throw new CliError(oneLine(e), 1);
    }
    const channels = summary.preprocess.channels ?? 3;
    if (args.grey === true && channels !== 1)
      throw new CliError(`${args.model}: --grey: the model takes ${channels} input channels, not 1`, 2);
    if (args.grey === false && channels === 1)
      throw new CliError(`${args.model}: --rgb: the model takes one (grey) input channel`, 2);
    let image;
    try {
      image = await imageFromFile(args.image);
    } catch (e) {
      throw new CliError(`${args.image}: cannot read (${oneLine(e)})`, 1);
    }
    const given = Object.keys(args.preprocess).length > 0;
    const stats = new Map<string, ActStats>();
    let prediction: Prediction | undefined;
    try {
      const r = await engine.analyze(
        { modelId: summary.id, image, maxSide: 0, ...(given ? { preprocess: args.preprocess } : {}) },
        { image: () => {}, frame: (f) => stats.set(f.layerId, frameStats(f)) },
      );
      prediction = r.prediction;
    } catch (e) {
      throw new CliError(oneLine(e), 1);
    }
    const pre: Preprocess = { ...summary.preprocess, ...args.preprocess, inputSize: summary.preprocess.inputSize };
    const a = summary.analysis;
    if (args.json) {
      const out = {
        model: args.model,
        format: summary.format ?? null,
        input: a.input,
        preprocess: {
          ...pre,
          channels,
          source: given ? 'command line' : (summary.preprocessSource ?? 'the model'),
        },
        totalParams: a.totals.params,
        trainableParams: a.totals.trainable,
        nonTrainableParams: a.totals.nonTrainable,
        totalMacs: a.totals.macs,
        layers: a.layers.map((l) => ({ ...layerJson(l), activation: stats.get(l.id) ?? null })),
        prediction: prediction?.top ?? [],
        ...(prediction?.softmaxApplied ? { softmaxApplied: true } : {}),
        warnings: a.warnings,
      };
      process.stdout.write(JSON.stringify(out) + '\n');
    } else {
      const cells = (l: LayerAnalysis) => {
        const s = stats.get(l.id);
        return s ? [num(s.min), num(s.mean), num(s.max)] : ['-', '-', '-'];
      };
      const out: string[] = [];
      out.push(`${summary.description}`);
      out.push(
        `Input: ${pre.inputSize.join('×')}×${channels}, ${pre.resize}, ${channels === 1 ? 'grey' : pre.channelOrder.toUpperCase()}, ` +
          `value = pixel/255·${pre.scale} + ${pre.offset}, mean ${pre.mean.join(',')}, std ${pre.std.join(',')} ` +
          `(${given ? 'command line' : (summary.preprocessSource ?? 'the model')})`,
      );
      out.push(renderTable(args.model, a, { headers: ['act min', 'act mean', 'act max'], cells }));
      out.push('');
      if (prediction) {
        out.push(
          `Prediction (${prediction.classes} classes${prediction.softmaxApplied ? '; softmax applied to raw logits' : ''}):`,
        );
        for (const t of prediction.top) {
          const bar = '█'.repeat(Math.round(t.probability * 30));
          out.push(`  ${t.label.padEnd(24)} ${(t.probability * 100).toFixed(1).padStart(5)}%  ${bar}`);
        }
      } else out.push('Prediction: the last layer is not a class vector');
      process.stdout.write(out.join('\n') + '\n');
    }
    if (args.json) for (const w of firstWarnings(a.warnings)) process.stderr.write(`warning: ${w}\n`);
    await engine.dispose();
    return 0;
  } catch (e) {
    process.stderr.write(`inspect: ${oneLine(e)}\n`);
    return e instanceof CliError ? e.code : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
