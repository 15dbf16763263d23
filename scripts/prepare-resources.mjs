#!/usr/bin/env node
/**
 * Install-time, offline: converts the Keras layers models that the npm package `nsfwjs` ships as
 * base64 `.min.js` wrappers into standard tfjs `model.json` + `.bin` shards under resources/models/.
 * Nothing is fetched. Each wrapper is a UMD module returning an object (the topology) or a base64
 * string (a shard); it is evaluated in an empty `vm` context (no require, no process, no globals),
 * and what it returns is checked against the manifest before anything is written.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = join(root, 'resources', 'models');

/** Bundled models: our id → the folder in nsfwjs/dist/models. */
const MODELS = [
  { id: 'mobilenetv2', source: 'mobilenet_v2' },
  { id: 'inceptionv3', source: 'inception_v3' },
];

function findNsfwjs() {
  // nsfwjs' `exports` map hides package.json from require.resolve: look along Node's search paths.
  const require = createRequire(join(root, 'package.json'));
  for (const dir of require.resolve.paths('nsfwjs') ?? []) {
    if (existsSync(join(dir, 'nsfwjs', 'dist', 'models'))) return join(dir, 'nsfwjs');
  }
  return null;
}

/** Runs a UMD wrapper in an empty sandbox and returns what it exports. */
function evaluateWrapper(file) {
  const code = readFileSync(file, 'utf8');
  const module = { exports: {} };
  const context = vm.createContext({ module, exports: module.exports });
  vm.runInContext(code, context, { filename: file, timeout: 20_000 });
  return module.exports;
}

function convert(nsfwDir, { id, source }) {
  const srcDir = join(nsfwDir, 'dist', 'models', source);
  const model = evaluateWrapper(join(srcDir, 'model.min.js'));
  if (!model || typeof model !== 'object' || !model.modelTopology || !Array.isArray(model.weightsManifest)) {
    throw new Error(`${srcDir}/model.min.js: not a tfjs layers model (no modelTopology/weightsManifest)`);
  }
  const tmp = join(outRoot, `.${id}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const hash = createHash('sha256');
  let bytes = 0;
  const manifest = model.weightsManifest.map((group) => ({
    ...group,
    paths: group.paths.map((p) => {
      if (!/^[\w.-]+$/.test(p)) throw new Error(`${source}: unexpected shard name ${JSON.stringify(p)}`);
      const b64 = evaluateWrapper(join(srcDir, `${p}.min.js`));
      if (typeof b64 !== 'string') throw new Error(`${source}/${p}.min.js: expected a base64 string`);
      const buf = Buffer.from(b64, 'base64');
      hash.update(buf);
      bytes += buf.length;
      writeFileSync(join(tmp, `${p}.bin`), buf);
      return `${p}.bin`;
    }),
  }));
  // Check the shards hold exactly what the manifest describes (quantized dtypes included).
  const itemBytes = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2 };
  let expected = 0;
  for (const group of manifest) {
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      expected += n * itemBytes[w.quantization?.dtype ?? w.dtype];
    }
  }
  if (expected !== bytes) throw new Error(`${source}: shards hold ${bytes} bytes, manifest describes ${expected}`);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'feature-map-explorer scripts/prepare-resources.mjs',
    convertedBy: `nsfwjs ${JSON.parse(readFileSync(join(nsfwDir, 'package.json'), 'utf8')).version} dist/models/${source}`,
    modelTopology: model.modelTopology,
    weightsManifest: manifest,
  };
  writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(
    join(tmp, 'SOURCE.json'),
    JSON.stringify({ from: `nsfwjs/dist/models/${source}`, bytes, sha256: hash.digest('hex') }, null, 2),
  );
  const dest = join(outRoot, id);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  return bytes;
}

function main() {
  const nsfwDir = findNsfwjs();
  if (!nsfwDir) {
    // A production install without devDependencies: keep going, the app lists only the zoo models.
    console.warn('prepare-resources: nsfwjs is not installed; bundled pretrained models skipped.');
    return;
  }
  mkdirSync(outRoot, { recursive: true });
  for (const m of MODELS) {
    const done = join(outRoot, m.id, 'SOURCE.json');
    if (existsSync(done) && !process.argv.includes('--force')) {
      console.log(`prepare-resources: ${m.id} already converted`);
      continue;
    }
    const bytes = convert(nsfwDir, m);
    console.log(`prepare-resources: ${m.id} → resources/models/${m.id} (${(bytes / 1e6).toFixed(1)} MB of weights)`);
  }
  for (const entry of readdirSync(outRoot))
    if (entry.startsWith('.')) rmSync(join(outRoot, entry), { recursive: true, force: true });
}

main();
