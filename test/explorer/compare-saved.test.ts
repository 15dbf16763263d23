import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COMPARISON_FORMAT,
  ComparisonFileError,
  parseComparison,
  planReopen,
  serializeComparison,
  type ComparisonState,
} from '../../renderer/src/explorer/compare/saved-comparison';
import { baseName, filesResolver } from '../../renderer/src/explorer/compare/reopen-files';

const SAMPLES_DIR = resolve(__dirname, '../../resources/samples');
const readSample = async (_base: string, file: string) => {
  const b = readFileSync(resolve(SAMPLES_DIR, file));
  return { name: file, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};

const state: ComparisonState = {
  image: { kind: 'sample', name: 'chelsea.png', path: 'samples/chelsea.png' },
  models: [
    { id: 'vgg16', name: 'VGG-16', source: 'zoo' },
    { id: 'mobilenetv2-pretrained', name: 'MobileNetV2 (pretrained)', source: 'bundled' },
    { id: 'user:my-net', name: 'my-net', source: 'user', path: '/home/me/models/my-net/model.json' },
  ],
  link: { camera: true, stepping: 'stage' },
  focus: { model: 'vgg16', layerId: 'block3_pool' },
};

const errorOf = (text: string, name = 'cmp.fme-compare.json'): string => {
  try {
    parseComparison(text, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ComparisonFileError);
    return (e as Error).message;
  }
  throw new Error('expected the file to be rejected');
};

describe('saved comparison file', () => {
  it('round-trips: what is saved parses back to the same references and settings', () => {
    const text = serializeComparison(state, new Date('2025-03-04T05:06:07Z'));
    const back = parseComparison(text, 'a.json');
    expect(back).toEqual({ format: COMPARISON_FORMAT, version: 1, savedAt: '2025-03-04T05:06:07.000Z', ...state });
    // Small: references only, never image or model bytes.
    expect(text.length).toBeLessThan(1000);
  });

  it('names the file and the problem for text that is not JSON or not a comparison', () => {
    expect(errorOf('{oops', 'x.json')).toMatch(/^x\.json: not JSON/);
    expect(errorOf('[1,2]')).toBe('cmp.fme-compare.json: expected a JSON object, found a list');
    expect(errorOf('{"format":"something-else"}')).toContain('not a saved comparison');
  });

  it('lists every schema problem with its path', () => {
    const doc = JSON.parse(serializeComparison(state));
    doc.version = 2;
    doc.models[1].source = 'cloud';
    doc.link.stepping = 'sideways';
    const msg = errorOf(JSON.stringify(doc));
    expect(msg).toContain('cmp.fme-compare.json: ');
    expect(msg).toContain('version must be 1');
    expect(msg).toContain('models.1.source: model source must be "bundled", "zoo" or "user"');
    expect(msg).toContain('link.stepping must be "stage", "depth" or "off"');
  });

  it('rejects an empty, oversized or repeated model list and a user model without a path', () => {
    const base = JSON.parse(serializeComparison(state));
    expect(errorOf(JSON.stringify({ ...base, models: [] }))).toContain('models is empty');
    const five = Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, name: `m${i}`, source: 'zoo' }));
    expect(errorOf(JSON.stringify({ ...base, models: five }))).toContain('models has more than 4 entries');
    expect(errorOf(JSON.stringify({ ...base, models: [base.models[0], base.models[0]] }))).toContain(
      'the same model twice',
    );
    const noPath = [{ id: 'user:x', name: 'x', source: 'user' }];
    expect(errorOf(JSON.stringify({ ...base, models: noPath }))).toContain('a "user" model needs a path');
  });
});

describe('reopening', () => {
  const known = [{ id: 'vgg16' }, { id: 'resnet50' }];

  it('opens what it finds and lists what is missing, without failing', async () => {
    const saved = parseComparison(serializeComparison(state), 'a.json');
    const plan = await planReopen(saved, known, filesResolver([], 'http://x/', readSample));
    expect(plan.image?.name).toBe('chelsea.png');
    expect(new Uint8Array(plan.image!.bytes).subarray(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47])); // "PNG"
    expect(plan.models.map((m) => m.ref.id)).toEqual(['vgg16']);
    expect(plan.missing).toEqual([
      'model MobileNetV2 (pretrained) (mobilenetv2-pretrained): not available in this version of the app',
      'model my-net (/home/me/models/my-net/model.json): not found — open it with "Add your model…"',
    ]);
  });

  it('uses a user model the engine already knows by id', async () => {
    const saved = parseComparison(serializeComparison(state), 'a.json');
    const plan = await planReopen(
      saved,
      [...known, { id: 'user:my-net' }, { id: 'mobilenetv2-pretrained' }],
      filesResolver([], '', readSample),
    );
    expect(plan.models.map((m) => m.kind)).toEqual(['known', 'known', 'known']);
    expect(plan.missing).toEqual([]);
  });

  it('finds a user image among the picked files by its base name, or reports it', async () => {
    const withFile: ComparisonState = {
      ...state,
      image: { kind: 'file', name: 'cat.jpg', path: 'C:\\photos\\cat.jpg' },
    };
    const saved = parseComparison(serializeComparison(withFile), 'a.json');
    const bytes = new Uint8Array([1, 2, 3]).buffer;
    const found = await planReopen(saved, known, filesResolver([{ name: 'cat.jpg', bytes }], '', readSample));
    expect(found.image).toEqual({ name: 'cat.jpg', bytes });
    const lost = await planReopen(saved, known, filesResolver([], '', readSample));
    expect(lost.image).toBeNull();
    expect(lost.missing[0]).toBe('image C:\\photos\\cat.jpg: not found');
    expect(baseName('/a/b/c.png')).toBe('c.png');
  });

  it('reports a sample name that is not bundled instead of fetching it', async () => {
    const bad: ComparisonState = { ...state, image: { kind: 'sample', name: '../../etc/passwd', path: 'x' } };
    const plan = await planReopen(
      parseComparison(serializeComparison(bad), 'a.json'),
      known,
      filesResolver([], '', readSample),
    );
    expect(plan.image).toBeNull();
    expect(plan.missing[0]).toBe('image x: "../../etc/passwd" is not one of the bundled samples');
  });
});
