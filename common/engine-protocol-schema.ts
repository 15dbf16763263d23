/**
 * Runtime schemas (valibot) for every EngineRequest and EngineReply of protocol.ts: the engine checks each
 * request before acting on it, the client checks each reply before routing it. Both sides of the port are
 * our own code, but a message may come from a stale page, a test, or a bug; a bad one is answered (or
 * reported) with what is wrong with it instead of surfacing later as a TypeError deep in tfjs.
 *
 * Frames are checked for their shape and the types and lengths of their typed arrays, never byte by byte,
 * so a pass of a few hundred frames costs microseconds here. Pure TypeScript: imports nothing
 * environment-specific.
 */
import * as v from 'valibot';
import { MAX_IMAGE_PIXELS } from './image-header';
import type { EngineReply, EngineRequest } from './engine-protocol';

/** Longest id, name or path string a message may carry. */
export const MAX_STRING = 4096;
/** Most files a user model may consist of. */
export const MAX_MODEL_FILES = 4096;
/** Frame buffers one `recycle` message may hand back (a pass of the largest model has ~800 layers). */
export const MAX_RECYCLED_BUFFERS = 4096;
/** Longest a `debugSpin` may spin (ms). */
export const MAX_SPIN_MS = 600_000;

const Id = v.pipe(
  v.number('id must be a number'),
  v.integer('id must be an integer'),
  v.minValue(0, 'id must not be negative'),
  v.maxValue(Number.MAX_SAFE_INTEGER, 'id must be a safe integer'),
);
const Str = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.maxLength(MAX_STRING, `${what} must be at most ${MAX_STRING} characters`),
  );
const NonEmpty = (what: string) => v.pipe(Str(what), v.minLength(1, `${what} must not be empty`));
const Count = (what: string) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be an integer`),
    v.minValue(0, `${what} must not be negative`),
    v.maxValue(Number.MAX_SAFE_INTEGER, `${what} is too large`),
  );
const Finite = (what: string) => v.pipe(v.number(`${what} must be a number`), v.finite(`${what} must be finite`));
const Side = (what: string) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be an integer`),
    v.minValue(1, `${what} must be at least 1`),
    v.maxValue(65535, `${what} must be at most 65535`),
  );

const Backend = v.picklist(['webgl', 'wasm', 'cpu'], 'backend must be webgl, wasm or cpu');
const Resize = v.picklist(['center-crop', 'letterbox', 'stretch'], 'resize must be center-crop, letterbox or stretch');
const Triple = (what: string) => v.tuple([Finite(what), Finite(what), Finite(what)], `${what} must be 3 numbers`);

const PreprocessSchema = v.object({
  // Count, not Side: a model with a free input size may report 0 until an image fixes it.
  inputSize: v.tuple([Count('inputSize'), Count('inputSize')], 'inputSize must be [height, width]'),
  resize: Resize,
  channelOrder: v.picklist(['rgb', 'bgr'], 'channelOrder must be rgb or bgr'),
  scale: Finite('scale'),
  offset: Finite('offset'),
  mean: Triple('mean'),
  std: Triple('std'),
  channels: v.optional(v.picklist([1, 3], 'channels must be 1 or 3')),
  cropFraction: v.optional(
    v.pipe(
      Finite('cropFraction'),
      v.gtValue(0, 'cropFraction must be in (0, 1]'),
      v.maxValue(1, 'cropFraction must be in (0, 1]'),
    ),
  ),
});

const ArrayBufferSchema = (what: string) => v.instance(ArrayBuffer, `${what} must be an ArrayBuffer`);

const rgbaEntries = {
  width: Side('image width'),
  height: Side('image height'),
  data: v.instance(Uint8ClampedArray, 'image data must be a Uint8ClampedArray'),
};
const RgbaPixels = v.object(rgbaEntries);

const ImageInputSchema = v.variant(
  'kind',
  [
    v.object({
      kind: v.literal('encoded'),
      name: NonEmpty('image name'),
      bytes: ArrayBufferSchema('image bytes'),
      mime: v.optional(Str('mime')),
    }),
    v.object({ kind: v.literal('rgba'), name: NonEmpty('image name'), ...rgbaEntries }),
  ],
  'image.kind must be encoded or rgba',
);

const UserModelFilesSchema = v.object({
  name: NonEmpty('model name'),
  files: v.pipe(
    v.array(
      v.object({ path: NonEmpty('file path'), bytes: ArrayBufferSchema('file bytes') }),
      'files must be an array',
    ),
    v.minLength(1, 'a user model needs at least one file'),
    v.maxLength(MAX_MODEL_FILES, `a user model may have at most ${MAX_MODEL_FILES} files`),
  ),
});

/** Which unit of which model (inspectUnit, effectiveField). */
const unitEntries = {
  modelId: NonEmpty('modelId'),
  layer: NonEmpty('layer'),
  channel: Count('channel'),
  y: v.optional(Count('y')),
  x: v.optional(Count('x')),
};

const RequestSchemas = {
  hello: v.object({
    type: v.literal('hello'),
    id: Id,
    resourcesBase: Str('resourcesBase'),
    prefer: v.optional(v.pipe(v.array(Backend, 'prefer must be an array'), v.maxLength(3))),
  }),
  listModels: v.object({ type: v.literal('listModels'), id: Id }),
  loadModel: v.object({ type: v.literal('loadModel'), id: Id, modelId: NonEmpty('modelId') }),
  loadUserModel: v.object({ type: v.literal('loadUserModel'), id: Id, model: UserModelFilesSchema }),
  analyze: v.object({
    type: v.literal('analyze'),
    id: Id,
    modelId: NonEmpty('modelId'),
    image: ImageInputSchema,
    resize: v.optional(Resize),
    maxSide: v.optional(Count('maxSide')),
    keepOthers: v.optional(v.boolean('keepOthers must be a boolean')),
    preprocess: v.optional(v.partial(PreprocessSchema)),
  }),
  channel: v.object({
    type: v.literal('channel'),
    id: Id,
    modelId: NonEmpty('modelId'),
    layerId: NonEmpty('layerId'),
    channel: Count('channel'),
  }),
  inspectUnit: v.object({ type: v.literal('inspectUnit'), id: Id, ...unitEntries }),
  effectiveField: v.object({ type: v.literal('effectiveField'), id: Id, ...unitEntries }),
  gradCam: v.object({
    type: v.literal('gradCam'),
    id: Id,
    modelId: NonEmpty('modelId'),
    classIndex: v.optional(Count('classIndex')),
    layer: v.optional(NonEmpty('layer')),
  }),
  cancel: v.object({ type: v.literal('cancel'), id: Id, target: Id }),
  recycle: v.object({
    type: v.literal('recycle'),
    id: Id,
    buffers: v.pipe(
      v.array(ArrayBufferSchema('recycled frame buffer'), 'buffers must be an array'),
      v.maxLength(MAX_RECYCLED_BUFFERS, `at most ${MAX_RECYCLED_BUFFERS} buffers per recycle message`),
    ),
  }),
  setBackend: v.object({ type: v.literal('setBackend'), id: Id, backend: Backend }),
  predict: v.object({ type: v.literal('predict'), id: Id, modelId: NonEmpty('modelId') }),
  simulateContextLoss: v.object({ type: v.literal('simulateContextLoss'), id: Id }),
  ping: v.object({ type: v.literal('ping'), id: Id }),
  debugSpin: v.object({
    type: v.literal('debugSpin'),
    id: Id,
    ms: v.pipe(Count('ms'), v.maxValue(MAX_SPIN_MS, `ms must be at most ${MAX_SPIN_MS}`)),
  }),
  debugExit: v.object({ type: v.literal('debugExit'), id: Id }),
} satisfies { [K in EngineRequest['type']]: v.GenericSchema };

const ModelEntrySchema = v.object({
  id: NonEmpty('model id'),
  name: Str('model name'),
  source: v.picklist(['bundled', 'zoo', 'user'], 'source must be bundled, zoo or user'),
  description: v.string(),
  trained: v.boolean(),
  preprocess: PreprocessSchema,
  labels: v.optional(v.array(v.string())),
  preprocessSource: v.optional(v.string()),
  format: v.optional(v.string()),
});
const ModelList = v.array(ModelEntrySchema, 'models must be an array');

/** The analysis is produced by our own pure code; checked for its outline only (it can be large). */
const AnalysisOutline = v.custom<unknown>(
  (a) => typeof a === 'object' && a !== null && Array.isArray((a as { layers?: unknown }).layers),
  'summary.analysis must be an object with a layers array',
);

/** A user model's layer graph (our own engine's IR, settings only): checked for its outline, like the analysis. */
const GraphOutline = v.custom<unknown>((g) => {
  const o = g as { name?: unknown; nodes?: unknown; outputs?: unknown } | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.name === 'string' &&
    Array.isArray(o.outputs) &&
    Array.isArray(o.nodes) &&
    o.nodes.every((n: { name?: unknown; op?: unknown; inputs?: unknown } | null) => {
      return !!n && typeof n.name === 'string' && typeof n.op === 'string' && Array.isArray(n.inputs);
    })
  );
}, 'summary.graph must be a layer graph: a name, nodes with name, op and inputs, and outputs');

const FrameSchema = v.object({
  layerId: NonEmpty('frame layerId'),
  index: Count('frame index'),
  shape: v.tuple(
    [Count('frame height'), Count('frame width'), Count('frame channels')],
    'frame shape must be [H, W, C]',
  ),
  fullShape: v.array(Count('fullShape entry')),
  min: v.instance(Float32Array, 'frame min must be a Float32Array'),
  max: v.instance(Float32Array, 'frame max must be a Float32Array'),
  data: v.instance(Uint8Array, 'frame data must be a Uint8Array'),
  zeros: v.optional(Count('frame zeros')),
});

const TimingsSchema = v.object({
  decodeMs: Finite('decodeMs'),
  forwardMs: Finite('forwardMs'),
  extractMs: Finite('extractMs'),
  totalMs: Finite('totalMs'),
  firstFrameMs: Finite('firstFrameMs'),
});

const Int = (what: string) => v.pipe(v.number(`${what} must be a number`), v.integer(`${what} must be an integer`));
const PairOf = (what: string) => v.tuple([Side(what), Side(what)], `${what} must be [rows, cols]`);
const F32 = (what: string) => v.instance(Float32Array, `${what} must be a Float32Array`);
/** A stage's value may be ±Infinity or NaN in a broken model: it is shown as such, not refused. */
const Num = (what: string) => v.custom<number>((x) => typeof x === 'number', `${what} must be a number`);

const UnitInspectionSchema = v.object({
  layer: NonEmpty('result.layer'),
  op: v.picklist(
    ['conv', 'depthwise', 'separable', 'convtranspose', 'dense'],
    'result.op must be conv, depthwise, separable, convtranspose or dense',
  ),
  channel: Count('result.channel'),
  y: Count('result.y'),
  x: Count('result.x'),
  kernelSize: PairOf('kernelSize'),
  strides: PairOf('strides'),
  dilation: PairOf('dilation'),
  pad: v.tuple([Count('pad'), Count('pad'), Count('pad'), Count('pad')], 'pad must be [top, bottom, left, right]'),
  kernels: v.array(
    v.object({
      inputChannel: v.pipe(Int('inputChannel'), v.minValue(-1, 'inputChannel must be -1 or a channel')),
      weights: F32('kernel weights'),
      norm: Num('kernel norm'),
    }),
    'kernels must be an array',
  ),
  rgb: v.nullable(RgbaPixels),
  bias: Num('bias'),
  patch: v.object({
    layer: NonEmpty('patch.layer'),
    rows: Side('patch.rows'),
    cols: Side('patch.cols'),
    channels: v.array(
      v.pipe(Int('patch channel'), v.minValue(-1, 'patch channel must be -1 (a vector) or a channel')),
      'patch.channels must be an array',
    ),
    top: Int('patch.top'),
    left: Int('patch.left'),
    step: PairOf('patch.step'),
    values: F32('patch.values'),
    cells: v.instance(Uint8Array, 'patch.cells must be a Uint8Array'),
    products: F32('patch.products'),
    taps: v.optional(v.instance(Int32Array, 'patch.taps must be an Int32Array')),
  }),
  pointwise: v.optional(
    v.object({
      depthwise: F32('pointwise.depthwise'),
      weights: F32('pointwise.weights'),
      products: F32('pointwise.products'),
    }),
  ),
  stages: v.array(
    v.object({
      layer: v.string(),
      kind: v.picklist(['sum', 'bias', 'activation', 'bn', 'scale'], 'unknown stage kind'),
      label: v.string(),
      value: Num('stage value'),
      engine: v.nullable(Num('stage engine value')),
    }),
    'stages must be an array',
  ),
  value: Num('value'),
});

const BoxSchema = v.object({ top: Int('top'), left: Int('left'), bottom: Int('bottom'), right: Int('right') });
const EffectiveFieldSchema = v.object({
  layer: NonEmpty('result.layer'),
  channel: Count('result.channel'),
  y: Count('result.y'),
  x: Count('result.x'),
  height: Side('result.height'),
  width: Side('result.width'),
  map: F32('result.map'),
  max: Finite('result.max'),
  mass: Finite('result.mass'),
  box: v.nullable(v.object({ ...BoxSchema.entries, clipped: v.nullable(BoxSchema) })),
  insideBox: Finite('result.insideBox'),
  share95: v.nullable(Finite('result.share95')),
  pixels95: Count('result.pixels95'),
});

const GradCamSchema = v.object({
  layer: NonEmpty('result.layer'),
  classIndex: Count('result.classIndex'),
  score: Num('result.score'),
  logit: v.boolean('result.logit must be a boolean'),
  layerHeight: Side('result.layerHeight'),
  layerWidth: Side('result.layerWidth'),
  layerMap: F32('result.layerMap'),
  weights: F32('result.weights'),
  height: Side('result.height'),
  width: Side('result.width'),
  map: F32('result.map'),
  max: Finite('result.max'),
});

const ReplySchemas = {
  unitInspection: v.object({ type: v.literal('unitInspection'), id: Id, result: UnitInspectionSchema }),
  effectiveField: v.object({ type: v.literal('effectiveField'), id: Id, result: EffectiveFieldSchema }),
  gradCam: v.object({ type: v.literal('gradCam'), id: Id, result: GradCamSchema }),
  ready: v.object({
    type: v.literal('ready'),
    id: Id,
    backend: Backend,
    reason: v.string(),
    models: ModelList,
    tfjsVersion: v.string(),
  }),
  backend: v.object({ type: v.literal('backend'), backend: Backend, reason: v.string(), id: v.optional(Id) }),
  models: v.object({ type: v.literal('models'), id: Id, models: ModelList }),
  progress: v.object({
    type: v.literal('progress'),
    id: Id,
    phase: v.picklist(['fetch', 'build', 'compile', 'decode', 'infer'], 'unknown progress phase'),
    loaded: Finite('loaded'),
    total: Finite('total'),
    detail: v.optional(v.string()),
  }),
  modelLoaded: v.object({
    type: v.literal('modelLoaded'),
    id: Id,
    summary: v.object({
      ...ModelEntrySchema.entries,
      analysis: AnalysisOutline,
      frameOrder: v.array(v.string(), 'frameOrder must be an array of layer ids'),
      clips: v.optional(v.record(v.string(), Finite('clip value'), 'clips must map layer ids to numbers')),
      graph: v.optional(GraphOutline),
    }),
  }),
  image: v.object({
    type: v.literal('image'),
    id: Id,
    name: v.string(),
    width: Count('width'),
    height: Count('height'),
    preview: RgbaPixels,
  }),
  frame: v.object({ type: v.literal('frame'), id: Id, frame: FrameSchema }),
  frames: v.object({
    type: v.literal('frames'),
    id: Id,
    frames: v.pipe(v.array(FrameSchema), v.minLength(1, 'frames: an empty batch'), v.maxLength(100_000)),
  }),
  done: v.object({
    type: v.literal('done'),
    id: Id,
    timings: TimingsSchema,
    backend: Backend,
    stats: v.optional(
      v.looseObject({ frames: Count('frames'), bytesSent: Count('bytesSent'), values: Count('values') }),
    ),
    prediction: v.optional(
      v.looseObject({
        layerId: v.string(),
        top: v.array(v.object({ index: Count('class index'), label: v.string(), probability: Finite('probability') })),
        softmaxApplied: v.boolean(),
        classes: Count('classes'),
      }),
    ),
  }),
  channel: v.object({
    type: v.literal('channel'),
    id: Id,
    layerId: v.string(),
    channel: Count('channel'),
    shape: v.tuple([Count('height'), Count('width')]),
    values: v.instance(Float32Array, 'channel values must be a Float32Array'),
  }),
  cancelled: v.object({ type: v.literal('cancelled'), id: Id }),
  pong: v.object({ type: v.literal('pong'), id: Id, heapBytes: v.optional(Count('heapBytes')) }),
  error: v.object({
    type: v.literal('error'),
    id: v.nullable(Id),
    message: v.string('error message must be a string'),
    file: v.optional(v.string()),
  }),
} satisfies { [K in EngineReply['type']]: v.GenericSchema };

type Pixels = { width: number; height: number; data: Uint8ClampedArray };
type Frame = {
  shape: [number, number, number];
  fullShape: number[];
  min: Float32Array;
  max: Float32Array;
  data: Uint8Array;
  zeros?: number;
};

/** Width × height within the limit and a data length that matches (the preprocessor would read past it). */
function pixelProblem(what: string, p: Pixels): string | null {
  if (p.width * p.height > MAX_IMAGE_PIXELS)
    return `${what}: ${p.width}×${p.height} is over the ${MAX_IMAGE_PIXELS / 1e6}-megapixel limit`;
  const need = p.width * p.height * 4;
  return p.data.length === need
    ? null
    : `${what}.data: ${p.data.length} bytes; ${p.width}×${p.height} RGBA needs ${need}`;
}

/** `at`: where the frame sits in its reply ("frame.frame", "frames.frames[3]"). */
function frameProblem(f: Frame, at = 'frame.frame'): string | null {
  const [h, w, c] = f.shape;
  if (f.data.length !== h * w * c) return `${at}.data: ${f.data.length} bytes; shape ${h}×${w}×${c} needs ${h * w * c}`;
  if (f.zeros !== undefined && f.zeros > f.fullShape.reduce((a, b) => a * b, 1))
    return `${at}.zeros: ${f.zeros} zeros in a layer of ${f.fullShape.reduce((a, b) => a * b, 1)} values`;
  if (f.min.length !== c || f.max.length !== c)
    return `${at}.min/max: ${f.min.length}/${f.max.length} entries; ${c} channels need ${c} each`;
  return null;
}

/** Checks across fields (lengths against shapes) that the per-field schemas cannot express. */
const requestChecks: Partial<Record<EngineRequest['type'], (m: never) => string | null>> = {
  analyze: (m: Extract<EngineRequest, { type: 'analyze' }>) =>
    m.image.kind === 'rgba' ? pixelProblem('analyze.image', m.image) : null,
};
/** The lengths of a unit inspection's arrays against its patch size (the views index them blindly). */
function inspectionProblem(r: Extract<EngineReply, { type: 'unitInspection' }>['result']): string | null {
  const { rows, cols, channels } = r.patch;
  const cells = rows * cols;
  const n = channels.length * cells;
  if (r.patch.cells.length !== cells)
    return `unitInspection.result.patch.cells: ${r.patch.cells.length}; ${rows}×${cols} needs ${cells}`;
  if (r.patch.values.length !== n || r.patch.products.length !== n)
    return `unitInspection.result.patch.values/products: ${r.patch.values.length}/${r.patch.products.length}; ${channels.length} slices of ${rows}×${cols} need ${n}`;
  if (r.kernels.length !== channels.length)
    return `unitInspection.result.kernels: ${r.kernels.length} slices; the patch has ${channels.length}`;
  const bad = r.kernels.findIndex((k) => k.weights.length !== cells);
  if (bad >= 0)
    return `unitInspection.result.kernels.${bad}.weights: ${r.kernels[bad].weights.length}; ${rows}×${cols} needs ${cells}`;
  if (r.patch.taps && r.patch.taps.length !== 2 * cells)
    return `unitInspection.result.patch.taps: ${r.patch.taps.length}; ${rows}×${cols} taps need ${2 * cells}`;
  const pw = r.pointwise;
  if (pw && [pw.depthwise, pw.weights, pw.products].some((a) => a.length !== channels.length))
    return `unitInspection.result.pointwise: ${pw.depthwise.length}/${pw.weights.length}/${pw.products.length} entries; the patch has ${channels.length} slices`;
  if (r.stages.length === 0) return 'unitInspection.result.stages: empty (the last stage is the value)';
  return r.rgb ? pixelProblem('unitInspection.result.rgb', r.rgb) : null;
}

const replyChecks: Partial<Record<EngineReply['type'], (m: never) => string | null>> = {
  unitInspection: (m: Extract<EngineReply, { type: 'unitInspection' }>) => inspectionProblem(m.result),
  effectiveField: (m: Extract<EngineReply, { type: 'effectiveField' }>) =>
    m.result.map.length === m.result.height * m.result.width
      ? null
      : `effectiveField.result.map: ${m.result.map.length} values; ${m.result.height}×${m.result.width} needs ${m.result.height * m.result.width}`,
  gradCam: (m: Extract<EngineReply, { type: 'gradCam' }>) => {
    const r = m.result;
    if (r.map.length !== r.height * r.width)
      return `gradCam.result.map: ${r.map.length} values; ${r.height}×${r.width} needs ${r.height * r.width}`;
    if (r.layerMap.length !== r.layerHeight * r.layerWidth)
      return `gradCam.result.layerMap: ${r.layerMap.length} values; ${r.layerHeight}×${r.layerWidth} needs ${r.layerHeight * r.layerWidth}`;
    return null;
  },
  image: (m: Extract<EngineReply, { type: 'image' }>) => pixelProblem('image.preview', m.preview),
  frame: (m: Extract<EngineReply, { type: 'frame' }>) => frameProblem(m.frame),
  frames: (m: Extract<EngineReply, { type: 'frames' }>) => {
    for (const [i, f] of m.frames.entries()) {
      const problem = frameProblem(f, `frames.frames[${i}]`);
      if (problem) return problem;
    }
    return null;
  },
  channel: (m: Extract<EngineReply, { type: 'channel' }>) =>
    m.values.length === m.shape[0] * m.shape[1]
      ? null
      : `channel.values: ${m.values.length} values; shape ${m.shape[0]}×${m.shape[1]} needs ${m.shape[0] * m.shape[1]}`,
};

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string; id: number | null };

/** "analyze.image.width: image width must be an integer" from the first issue of a failed parse. */
function describe(what: string, issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.');
  // valibot reports an absent key as "Invalid key: Expected "id" but received undefined".
  const message =
    issue.kind === 'schema' && issue.type === 'object' && issue.input === undefined ? 'missing' : issue.message;
  return `${what}${path ? `.${path}` : ''}: ${message}`;
}

/** The message's `id` when it is a usable one (so an error reply can name the request), else null. */
function usableId(msg: unknown): number | null {
  const id = (msg as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

/** Short text of an unexpected value for a message (never the whole of a large one). */
function preview(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 120);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function check<T>(
  kind: 'request' | 'reply',
  schemas: Record<string, v.GenericSchema>,
  extra: Partial<Record<string, (m: never) => string | null>>,
  msg: unknown,
): Checked<T> {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    return { ok: false, problem: `malformed engine ${kind}: not an object (${preview(msg)})`, id: null };
  const type = (msg as { type?: unknown }).type;
  const id = usableId(msg);
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type))
    return {
      ok: false,
      problem: `malformed engine ${kind}: unknown type ${typeof type === 'string' ? `'${type.slice(0, 60)}'` : preview(type)}`,
      id,
    };
  const r = v.safeParse(schemas[type], msg);
  if (!r.success) return { ok: false, problem: `malformed engine ${kind}: ${describe(type, r.issues)}`, id };
  const more = extra[type]?.(msg as never);
  if (more) return { ok: false, problem: `malformed engine ${kind}: ${more}`, id };
  // The message itself, not the parse output: fields added to protocol.ts later (by another feature)
  // still reach their handler instead of being stripped by a schema that does not know them yet.
  return { ok: true, value: msg as T };
}

/** Checks a message arriving at the engine. */
export function parseRequest(msg: unknown): Checked<EngineRequest> {
  return check<EngineRequest>('request', RequestSchemas, requestChecks, msg);
}

/** Checks a message arriving at the UI. */
export function parseReply(msg: unknown): Checked<EngineReply> {
  return check<EngineReply>('reply', ReplySchemas, replyChecks, msg);
}
