/**
 * The runtime schemas of the unit-inspection, effective-field and Grad-CAM messages: well-formed ones pass, each
 * kind of malformed one is refused with a message naming the field (hand-built messages, no engine).
 */
import { describe, expect, it } from 'vitest';
import { parseReply, parseRequest } from '../../common/engine-protocol-schema';

const problem = (r: { ok: boolean; problem?: string }) => (r.ok ? 'ok' : r.problem!);

describe('requests', () => {
  it('accepts the three requests with and without their optional fields', () => {
    for (const m of [
      { type: 'inspectUnit', id: 1, modelId: 'm', layer: 'conv', channel: 0, y: 2, x: 3 },
      { type: 'inspectUnit', id: 1, modelId: 'm', layer: 'dense', channel: 9 },
      { type: 'effectiveField', id: 2, modelId: 'm', layer: 'conv', channel: 1, y: 0, x: 0 },
      { type: 'gradCam', id: 3, modelId: 'm' },
      { type: 'gradCam', id: 3, modelId: 'm', classIndex: 281, layer: 'out_relu' },
    ])
      expect(problem(parseRequest(m))).toBe('ok');
  });

  it.each([
    [{ type: 'inspectUnit', id: 1, modelId: 'm', channel: 0 }, /inspectUnit\.layer: missing/],
    [{ type: 'inspectUnit', id: 1, modelId: 'm', layer: 'c', channel: -1 }, /channel must not be negative/],
    [{ type: 'inspectUnit', id: 1, modelId: 'm', layer: 'c', channel: 0.5 }, /channel must be an integer/],
    [{ type: 'effectiveField', id: 1, modelId: 'm', layer: 'c', channel: 0, y: '3' }, /y must be a number/],
    [{ type: 'effectiveField', id: 1, modelId: '', layer: 'c', channel: 0 }, /modelId must not be empty/],
    [{ type: 'gradCam', id: 1, modelId: 'm', classIndex: -2 }, /classIndex must not be negative/],
    [{ type: 'gradCam', id: 1, modelId: 'm', layer: '' }, /layer must not be empty/],
  ])('refuses %j', (m, re) => {
    const r = parseRequest(m);
    expect(r.ok).toBe(false);
    expect(problem(r)).toMatch(re);
    expect(problem(r)).toMatch(/^malformed engine request/);
  });
});

/** A 3 × 3 conv unit over 2 input channels, as unit-inspect.ts lays it out. */
function inspection() {
  const kernel = () => ({ inputChannel: 0, weights: new Float32Array(9), norm: 0 });
  return {
    layer: 'c',
    op: 'conv',
    channel: 0,
    y: 0,
    x: 0,
    kernelSize: [3, 3],
    strides: [1, 1],
    dilation: [1, 1],
    pad: [1, 1, 1, 1],
    kernels: [kernel(), { ...kernel(), inputChannel: 1 }],
    rgb: null,
    bias: 0,
    patch: {
      layer: 'in',
      rows: 3,
      cols: 3,
      channels: [0, 1],
      top: -1,
      left: -1,
      step: [1, 1],
      values: new Float32Array(18),
      cells: new Uint8Array(9),
      products: new Float32Array(18),
    },
    stages: [{ layer: 'c', kind: 'sum', label: 'Σ = 0', value: 0, engine: 0 }],
    value: 0,
  };
}

function field() {
  return {
    layer: 'c',
    channel: 0,
    y: 1,
    x: 1,
    height: 4,
    width: 5,
    map: new Float32Array(20),
    max: 0,
    mass: 0,
    box: { top: 0, left: 0, bottom: 2, right: 2, clipped: { top: 0, left: 0, bottom: 2, right: 2 } },
    insideBox: 1,
    share95: null,
    pixels95: 0,
  };
}

function cam() {
  return {
    layer: 'c',
    classIndex: 3,
    score: 1.5,
    logit: true,
    layerHeight: 2,
    layerWidth: 2,
    layerMap: new Float32Array(4),
    weights: new Float32Array(8),
    height: 4,
    width: 4,
    map: new Float32Array(16),
    max: 0,
  };
}

describe('replies', () => {
  it('accepts well-formed results', () => {
    expect(problem(parseReply({ type: 'unitInspection', id: 1, result: inspection() }))).toBe('ok');
    const dense = inspection();
    dense.patch = {
      ...dense.patch,
      rows: 1,
      cols: 4,
      channels: [-1],
      values: new Float32Array(4),
      cells: new Uint8Array(4),
      products: new Float32Array(4),
    };
    dense.kernels = [{ inputChannel: -1, weights: new Float32Array(4), norm: 0 }];
    expect(problem(parseReply({ type: 'unitInspection', id: 1, result: dense }))).toBe('ok');
    expect(problem(parseReply({ type: 'effectiveField', id: 2, result: field() }))).toBe('ok');
    expect(problem(parseReply({ type: 'effectiveField', id: 2, result: { ...field(), box: null } }))).toBe('ok');
    expect(problem(parseReply({ type: 'gradCam', id: 3, result: cam() }))).toBe('ok');
  });

  const bad: [string, unknown, RegExp][] = [
    ['no result', { type: 'unitInspection', id: 1 }, /unitInspection\.result: missing/],
    ['an unknown op', { type: 'unitInspection', id: 1, result: { ...inspection(), op: 'pool' } }, /op must be conv/],
    [
      'patch values as a plain array',
      { type: 'unitInspection', id: 1, result: { ...inspection(), patch: { ...inspection().patch, values: [0] } } },
      /patch\.values must be a Float32Array/,
    ],
    [
      'too few products for the patch',
      {
        type: 'unitInspection',
        id: 1,
        result: { ...inspection(), patch: { ...inspection().patch, products: new Float32Array(17) } },
      },
      /patch\.values\/products: 18\/17/,
    ],
    [
      'a kernel slice of the wrong size',
      {
        type: 'unitInspection',
        id: 1,
        result: {
          ...inspection(),
          kernels: [inspection().kernels[0], { inputChannel: 1, weights: new Float32Array(4), norm: 0 }],
        },
      },
      /kernels\.1\.weights: 4; 3×3 needs 9/,
    ],
    ['no stages', { type: 'unitInspection', id: 1, result: { ...inspection(), stages: [] } }, /stages: empty/],
    [
      'a map shorter than the image',
      { type: 'effectiveField', id: 2, result: { ...field(), map: new Float32Array(19) } },
      /effectiveField\.result\.map: 19 values; 4×5 needs 20/,
    ],
    [
      'a non-finite mass',
      { type: 'effectiveField', id: 2, result: { ...field(), mass: Number.NaN } },
      /result\.mass: result\.mass must be a number/,
    ],
    [
      'a box without its clipped part',
      { type: 'effectiveField', id: 2, result: { ...field(), box: { top: 0, left: 0, bottom: 1, right: 1 } } },
      /box\.clipped: missing/,
    ],
    [
      'a CAM of the wrong size',
      { type: 'gradCam', id: 3, result: { ...cam(), layerMap: new Float32Array(3) } },
      /gradCam\.result\.layerMap: 3 values; 2×2 needs 4/,
    ],
    [
      'a negative class',
      { type: 'gradCam', id: 3, result: { ...cam(), classIndex: -1 } },
      /classIndex must not be negative/,
    ],
  ];
  it.each(bad)('refuses %s', (_what, m, re) => {
    const r = parseReply(m);
    expect(r.ok).toBe(false);
    expect(problem(r)).toMatch(re);
  });
});
