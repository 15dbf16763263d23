/**
 * Architecture-edit files as a model format: saved from the editor, reopened through the format registry into the
 * edited graph with seeded weights whose shapes fit that graph, and hostile files refused with the file named.
 */
import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { parseEditFile, serializeEditFile, MAX_EDIT_FILE_BYTES } from '../../renderer/src/analysis/edit-file';
import { architectureEditFormat } from '../../renderer/src/formats/architecture-edit';
import { detectFormat, openModelFiles } from '../../renderer/src/formats';
import { InputError } from '../../common/image-header';

const enc = new TextEncoder();
const file = (text: string, path = 'my-edit.json') => [{ path, bytes: enc.encode(text) }];
const doc = (o: Record<string, unknown>) =>
  JSON.stringify({ format: 'feature-map-explorer/architecture-edit', version: 1, ...o });

describe('architecture-edit files', () => {
  it('round-trips through serialize / parse', () => {
    const spec = {
      base: 'vgg16' as const,
      preset: 'vgg16-gap',
      knobs: { convsStage1: 1 },
      edits: [{ layer: 'block1_conv1', field: 'kernel' as const, value: 5 }],
      seed: 7,
    };
    const text = serializeEditFile(spec);
    expect(JSON.parse(text)).toEqual({
      format: 'feature-map-explorer/architecture-edit',
      version: 1,
      base: 'vgg16',
      preset: 'vgg16-gap',
      knobs: { convsStage1: 1 },
      edits: [{ layer: 'block1_conv1', field: 'kernel', value: 5 }],
      seed: 7,
    });
    expect(parseEditFile(text, 'x.json')).toEqual(spec);
  });

  it('the registry picks the format by content and opens the edited graph with fitting seeded weights', async () => {
    const files = file(
      doc({ base: 'vgg16', preset: 'vgg16-gap', edits: [{ layer: 'fc2', field: 'units', value: 512 }] }),
    );
    expect(detectFormat(files)?.id).toBe('architecture-edit');
    const opened = await openModelFiles(files, 'my-edit.json');
    expect(opened.format).toBe('architecture-edit');
    expect(opened.mainFile).toBe('my-edit.json');
    const a = analyzeGraph(opened.graph);
    const fc1 = a.layers.find((l) => l.name === 'fc1');
    expect(fc1?.params.total).toBe(512 * 4096 + 4096);
    expect(a.layers.find((l) => l.name === 'fc2')?.outputShape).toEqual([512]);
    // Weights exist for every weighted layer, with the shapes the edited graph needs (Keras layouts).
    expect(opened.weights.get('fc1')?.map((t) => t.shape)).toEqual([[512, 4096], [4096]]);
    expect(opened.weights.get('fc2')?.map((t) => t.shape)).toEqual([[4096, 512], [512]]);
    expect(opened.weights.get('predictions')?.map((t) => t.shape)).toEqual([[512, 1000], [1000]]);
    expect(opened.weights.get('block1_conv1')?.[0].shape).toEqual([3, 3, 3, 64]);
    let values = 0;
    for (const list of opened.weights.values()) for (const t of list) values += t.data.length;
    expect(values).toBe(a.totals.params);
    expect(opened.preprocess?.preprocess.channelOrder).toBe('bgr');
  });

  it('the same seed gives the same weights; another seed other weights', async () => {
    const one = await architectureEditFormat.open(file(doc({ base: 'mobilenetv2', edits: [], seed: 3 })));
    const two = await architectureEditFormat.open(file(doc({ base: 'mobilenetv2', edits: [], seed: 3 })));
    const three = await architectureEditFormat.open(file(doc({ base: 'mobilenetv2', edits: [], seed: 4 })));
    const w = (o: typeof one) => o.weights.get('Conv1')?.[0].data.slice(0, 8);
    expect(w(one)).toEqual(w(two));
    expect(w(one)).not.toEqual(w(three));
  });

  it('does not claim other JSON files (a tfjs model.json)', () => {
    expect(architectureEditFormat.match(file('{"modelTopology": {}, "weightsManifest": []}', 'model.json'))).toBe(
      false,
    );
    expect(architectureEditFormat.match(file(doc({ base: 'vgg16', edits: [] }), 'edit.txt'))).toBe(false);
  });

  it.each<[string, string, RegExp]>([
    ['unknown base', doc({ base: 'lenet', edits: [] }), /^bad\.json: unknown base model "lenet" \(known: alexnet/],
    ['unknown preset', doc({ base: 'vgg16', preset: 'vgg99', edits: [] }), /^bad\.json: unknown preset "vgg99"/],
    [
      'preset of another base',
      doc({ base: 'resnet50', preset: 'vgg16-gap', edits: [] }),
      /^bad\.json: preset "vgg16-gap" is an edit of vgg16, not of resnet50/,
    ],
    [
      'unknown layer',
      doc({ base: 'vgg16', edits: [{ layer: 'conv9', field: 'kernel', value: 3 }] }),
      /^bad\.json: vgg16 has no layer "conv9"/,
    ],
    [
      'unknown field',
      doc({ base: 'vgg16', edits: [{ layer: 'fc1', field: 'colour', value: 3 }] }),
      /^bad\.json: edit 1 \(layer "fc1"\): unknown field "colour"/,
    ],
    [
      'field of another op',
      doc({ base: 'vgg16', edits: [{ layer: 'fc1', field: 'kernel', value: 3 }] }),
      /^bad\.json: layer "fc1" \(Dense\) has no editable field "kernel"/,
    ],
    [
      'absurd kernel',
      doc({ base: 'vgg16', edits: [{ layer: 'block1_conv1', field: 'kernel', value: 1e9 }] }),
      /^bad\.json: layer "block1_conv1": kernel must be a whole number from 1 to 1024/,
    ],
    [
      'negative filters',
      doc({ base: 'vgg16', edits: [{ layer: 'block1_conv1', field: 'filters', value: -1 }] }),
      /filters must be a whole number from 1 to 65536/,
    ],
    [
      'a string value',
      doc({ base: 'vgg16', edits: [{ layer: 'block1_conv1', field: 'kernel', value: 'big' }] }),
      /kernel value "big" is not a number/,
    ],
    [
      'bad knob',
      doc({ base: 'densenet121', knobs: { growthRate: 1000 }, edits: [] }),
      /^bad\.json: densenet121 knob "growthRate" = 1000 is out of range/,
    ],
    [
      'unknown knob',
      doc({ base: 'densenet121', knobs: { depth: 200 }, edits: [] }),
      /^bad\.json: densenet121 has no knob "depth"/,
    ],
    [
      'a broken network',
      doc({ base: 'vgg16', edits: [{ layer: 'block5_pool', field: 'kernel', value: 15 }] }),
      /^bad\.json: the edited vgg16 breaks at block5_pool \(MaxPooling2D\): the map shrinks below 1×1.*\(14 \+ 2·0 − 15\)\/2 \+ 1/,
    ],
    [
      'too many parameters to run',
      doc({ base: 'vgg16', edits: [{ layer: 'fc1', field: 'units', value: 65536 }] }),
      /^bad\.json: the edited vgg16 has 1,[\d,]+ parameters, more than this app builds/,
    ],
    [
      'wrong version',
      doc({ base: 'vgg16', version: 2, edits: [] }),
      /^bad\.json: architecture-edit version 2 is not supported/,
    ],
    ['not JSON', '{"format": "feature-map-explorer/architecture-edit", ', /^bad\.json: not valid JSON/],
    ['edits not a list', doc({ base: 'vgg16', edits: 'all' }), /^bad\.json: "edits" must be a list/],
    ['bad seed', doc({ base: 'vgg16', edits: [], seed: -1 }), /^bad\.json: "seed" must be a whole number/],
  ])('%s → a clear message naming the file', async (_what, text, message) => {
    const files = file(text, 'bad.json');
    expect(architectureEditFormat.match(files)).toBe(true);
    const err = await architectureEditFormat.open(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
  });

  it('a huge file is refused before it is parsed', async () => {
    const padding = ' '.repeat(MAX_EDIT_FILE_BYTES + 10);
    const files = file(
      `{"format": "feature-map-explorer/architecture-edit", "version": 1, "base": "vgg16", "edits": []${padding}}`,
      'huge.json',
    );
    const err = await architectureEditFormat.open(files).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^huge\.json: \d+ bytes, larger than an architecture-edit file can be/);
  });
});
