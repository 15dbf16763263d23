/**
 * The common input conventions ("value range" presets) a model may expect, and pure helpers that name and
 * describe a `Preprocess`. No Vue, no DOM: the InputConventions panel and the model-settings store use these.
 */
import type { Preprocess, ResizePolicy } from '../../../common/engine-protocol';

/** The fields a value-range preset sets. */
export type ValueFields = Pick<Preprocess, 'scale' | 'offset' | 'mean' | 'std'>;

/** Ids of the value-range presets, plus 'custom' for anything else. */
export type PresetId = 'unit' | 'byte' | 'signed' | 'imagenet' | 'caffe';
export type PresetChoice = PresetId | 'custom';

export interface ValuePreset {
  id: PresetId;
  /** Shown in the select. */
  label: string;
  /** Shown in one-line descriptions. */
  short: string;
  /** What choosing the preset sets, exactly. */
  values: ValueFields;
  /** Set only by presets that require an order (Caffe's mean is per B, G, R channel). */
  channelOrder?: Preprocess['channelOrder'];
}

const ZERO: [number, number, number] = [0, 0, 0];
const ONE: [number, number, number] = [1, 1, 1];

/** The preset table, in the order the select lists it. */
export const VALUE_PRESETS: readonly ValuePreset[] = [
  { id: 'unit', label: '[0, 1]', short: '[0, 1]', values: { scale: 1, offset: 0, mean: ZERO, std: ONE } },
  { id: 'byte', label: '[0, 255]', short: '[0, 255]', values: { scale: 255, offset: 0, mean: ZERO, std: ONE } },
  { id: 'signed', label: '[−1, 1]', short: '[−1, 1]', values: { scale: 2, offset: -1, mean: ZERO, std: ONE } },
  {
    id: 'imagenet',
    label: 'ImageNet mean/std',
    short: 'ImageNet mean/std',
    values: { scale: 1, offset: 0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  },
  {
    id: 'caffe',
    label: 'Caffe BGR mean',
    short: 'Caffe BGR mean',
    values: { scale: 255, offset: 0, mean: [103.939, 116.779, 123.68], std: ONE },
    channelOrder: 'bgr',
  },
];

/** Resize policies with a short explanation, in the order the select lists them. */
export const RESIZE_POLICIES: readonly { id: ResizePolicy; label: string; explain: string }[] = [
  { id: 'center-crop', label: 'center crop', explain: 'scale the short side to fit, cut the long one' },
  { id: 'letterbox', label: 'letterbox', explain: 'fit the whole image inside, pad the rest' },
  { id: 'stretch', label: 'stretch', explain: 'scale each side on its own (distorts the aspect ratio)' },
];

/** The preset with this id. */
export function presetById(id: PresetId): ValuePreset {
  const p = VALUE_PRESETS.find((v) => v.id === id);
  if (!p) throw new Error(`unknown value preset ${String(id)}`);
  return p;
}

/**
 * What choosing a preset changes: a fresh copy of its scale/offset/mean/std, plus the colour order where the
 * preset needs one (Caffe: BGR). The other presets leave the colour order as it is.
 */
export function presetPatch(id: PresetId): Partial<Preprocess> {
  const p = presetById(id);
  const patch: Partial<Preprocess> = {
    scale: p.values.scale,
    offset: p.values.offset,
    mean: [...p.values.mean],
    std: [...p.values.std],
  };
  if (p.channelOrder) patch.channelOrder = p.channelOrder;
  return patch;
}

/**
 * The per-channel affine map pixel (0..255) → value that a Preprocess applies: value = a · pixel + b.
 * Comparing these, not the literal fields, recognises equivalent spellings (mean 0.5 / std 0.5 is [−1, 1]).
 */
export function channelAffine(p: ValueFields): { a: number; b: number }[] {
  return [0, 1, 2].map((c) => ({ a: p.scale / 255 / p.std[c], b: (p.offset - p.mean[c]) / p.std[c] }));
}

const close = (x: number, y: number) => Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(x), Math.abs(y));

/**
 * Which preset a Preprocess matches ('custom' when none): by the value each pixel becomes, per channel that the
 * model uses (the first only for a grey model), and for Caffe also by the BGR order its mean is written in.
 */
export function presetOf(p: Preprocess): PresetChoice {
  const grey = p.channels === 1;
  const used = grey ? 1 : 3;
  const mine = channelAffine(p);
  if (!mine.slice(0, used).every((m) => Number.isFinite(m.a) && Number.isFinite(m.b))) return 'custom';
  for (const preset of VALUE_PRESETS) {
    // Grey input is luminance of R, G, B by name: the colour order does not apply.
    if (preset.channelOrder && !grey && preset.channelOrder !== p.channelOrder) continue;
    const theirs = channelAffine(preset.values);
    let same = true;
    for (let c = 0; c < used; c++) same &&= close(mine[c].a, theirs[c].a) && close(mine[c].b, theirs[c].b);
    if (same) return preset.id;
  }
  return 'custom';
}

/** A number as the panels write it: up to 4 significant digits, a true minus sign. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const s = String(Number(v.toPrecision(4)));
  return s.startsWith('-') ? `−${s.slice(1)}` : s;
}

/** The range of values each used channel takes for pixels 0..255: [[lo, hi], …] (one entry for grey). */
export function valueRange(p: Preprocess): [number, number][] {
  const used = p.channels === 1 ? 1 : 3;
  return channelAffine(p)
    .slice(0, used)
    .map(({ a, b }) => {
      const x = b;
      const y = a * 255 + b;
      return x <= y ? [x, y] : [y, x];
    });
}

const triple = (v: readonly number[], used: number) =>
  v
    .slice(0, used)
    .map((x) => formatNumber(x))
    .join('/');

/** One line: "224×224, center-crop, RGB, [−1, 1]"; a custom range spells out its numbers. */
export function describePreprocess(p: Preprocess): string {
  const [h, w] = p.inputSize;
  const grey = p.channels === 1;
  const colour = grey ? 'grey' : p.channelOrder.toUpperCase();
  const choice = presetOf(p);
  let range: string;
  if (choice !== 'custom') range = presetById(choice).short;
  else {
    const used = grey ? 1 : 3;
    const sign = p.offset < 0 ? '−' : '+';
    range = `pixel/255·${formatNumber(p.scale)} ${sign} ${formatNumber(Math.abs(p.offset))}`;
    if (p.mean.slice(0, used).some((m) => m !== 0)) range += `, mean ${triple(p.mean, used)}`;
    if (p.std.slice(0, used).some((s) => s !== 1)) range += `, std ${triple(p.std, used)}`;
  }
  return `${h}×${w}, ${p.resize}, ${colour}, ${range}`;
}

/**
 * Reads a number the user typed: trims, accepts a true minus sign (as the panel writes them) and a decimal
 * comma; null for anything that is not one finite number ("", "abc", "1e999", "NaN").
 */
export function parseNumber(text: string): number | null {
  const t = text.trim().replace(/^[−–]/, '-').replace(',', '.');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** The numeric fields a user may set, one channel at a time for mean and std. */
export type NumericField = 'scale' | 'offset' | 'mean' | 'std';

/**
 * Why a value cannot be used for a field (null when it can): every value finite; scale not 0 (every input would
 * be the same); std above 0 (it divides).
 */
export function numericFieldError(field: NumericField, v: number): string | null {
  if (!Number.isFinite(v)) return 'not a number';
  if (field === 'scale' && v === 0) return '0 makes every pixel the same';
  if (field === 'std' && v <= 0) return 'must be above 0';
  return null;
}

/** The conventions a pass uses: the model's own with the user's choice on top (size and channels stay the model's). */
export function withOverride(base: Preprocess, override: Partial<Preprocess> | undefined): Preprocess {
  if (!override) return base;
  return { ...base, ...override, inputSize: base.inputSize, channels: base.channels };
}
