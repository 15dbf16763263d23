/**
 * Each number of a layer explained in the lecture's terms, with the actual values filled in: plain strings the UI
 * shows when a layer is selected (no HTML).
 */
import type { LayerAnalysis, ModelAnalysis, RF } from '../../../common/analysis-types';

/** One explained number: the formula, the formula with this layer's values, and the result. */
export interface Explanation {
  title: string;
  formula: string;
  substituted: string;
  result: string;
  note?: string;
}

const nf = new Intl.NumberFormat('en-US');
/** 1234567 → "1,234,567". */
export const fmt = (n: number): string => nf.format(n);

/** A share in percent: one decimal, or two significant digits below 0.1 % (so small layers do not read 0.0 %). */
const pct = (part: number, whole: number): string => {
  if (whole <= 0 || part <= 0) return '0%';
  const v = (100 * part) / whole;
  return `${v >= 0.1 ? v.toFixed(1) : Number(v.toPrecision(2))}%`;
};

/** "1.85 GFLOPs"-style magnitude. */
function magnitude(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return `${n} `;
}

/** One string per axis, collapsed when both axes read the same. */
function perAxis(f: (axis: 0 | 1) => string): string {
  const h = f(0);
  const w = f(1);
  return h === w ? h : `H: ${h}; W: ${w}`;
}

const shapeText = (s: number[]): string => (s.length ? s.join(' × ') : 'unknown');

/** Layers that only pass values through (shape and field unchanged). */
const PASS_THROUGH = new Set(['norm', 'activation', 'dropout']);

function index(analysis: ModelAnalysis): Map<string, LayerAnalysis> {
  return new Map(analysis.layers.map((l) => [l.id, l]));
}

/** Follows single-input pass-through layers upstream from `id` (inclusive of the first non-pass-through). */
function upstream(byId: Map<string, LayerAnalysis>, id: string, through: Set<string>): LayerAnalysis | undefined {
  let l = byId.get(id);
  while (l && through.has(l.kind) && l.inputs.length === 1) l = byId.get(l.inputs[0]);
  return l;
}

/** Layers fed by `id`, looking through pass-through layers. */
function downstream(analysis: ModelAnalysis, id: string): LayerAnalysis[] {
  const found: LayerAnalysis[] = [];
  const queue = [id];
  const seen = new Set<string>();
  while (queue.length) {
    const cur = queue.shift() as string;
    for (const l of analysis.layers) {
      if (!l.inputs.includes(cur) || seen.has(l.id)) continue;
      seen.add(l.id);
      if (PASS_THROUGH.has(l.kind)) queue.push(l.id);
      else found.push(l);
    }
  }
  return found;
}

/**
 * The input a windowed layer really sees for the lecture's formula: a ZeroPadding2D right before a layer without
 * padding of its own is folded in as P (AlexNet's conv1: (224 + 2·2 − 11)/4 + 1), so I is the unpadded size.
 */
interface WindowView {
  input: LayerAnalysis;
  pad: [number, number, number, number];
  /** The padding layer folded into P, if any. */
  padLayer?: LayerAnalysis;
}

function windowView(layer: LayerAnalysis, byId: Map<string, LayerAnalysis>): WindowView | null {
  const g = layer.geometry;
  const input = layer.inputs.length ? byId.get(layer.inputs[0]) : undefined;
  if (!g || !input) return null;
  const own = g.pad.every((p) => p === 0);
  const before =
    input.kind === 'padding' && input.geometry && input.inputs.length ? byId.get(input.inputs[0]) : undefined;
  if (own && before && before.outputShape.length === 3 && input.geometry && input.geometry.pad.every((p) => p >= 0)) {
    return { input: before, pad: [...input.geometry.pad], padLayer: input };
  }
  return { input, pad: [...g.pad] };
}

function outputSize(layer: LayerAnalysis, view: WindowView | null): Explanation | null {
  const g = layer.geometry;
  if (!g || !view) return null;
  const inShape = view.input.outputShape;
  if (inShape.length !== 3 || layer.outputShape.length !== 3) return null;
  const pad = view.pad;
  const dilated = g.dilation[0] > 1 || g.dilation[1] > 1;
  const symmetric = pad[0] === pad[1] && pad[2] === pad[3];
  const K = (a: 0 | 1) => (dilated ? `${g.dilation[a]}·(${g.kernel[a]} − 1) − 1` : `${g.kernel[a]}`);
  const P = (a: 0 | 1) => {
    const [b, e] = a === 0 ? [pad[0], pad[1]] : [pad[2], pad[3]];
    return symmetric ? `2·${b}` : `${b} + ${e}`;
  };
  const formula = `${symmetric ? 'O = (I + 2P − ' : 'O = (I + P_before + P_after − '}${dilated ? 'D·(K − 1) − 1' : 'K'})/S + 1`;
  const substituted = perAxis(
    (a) => `(${inShape[a]} + ${P(a)} − ${K(a)})/${g.stride[a]} + 1 = ${layer.outputShape[a]}`,
  );
  const rounds = [0, 1].some((a) => {
    const keff = (g.kernel[a] - 1) * g.dilation[a] + 1;
    return (inShape[a] + pad[a * 2] + pad[a * 2 + 1] - keff) % g.stride[a] !== 0;
  });
  const notes: string[] = [];
  if (view.padLayer) {
    notes.push(
      `P comes from the ${view.padLayer.className} layer "${view.padLayer.name}" just before; this layer itself pads nothing.`,
    );
  }
  if (g.padding === 'same') {
    notes.push(
      `Padding 'same' resolves for this ${inShape[0]}×${inShape[1]} input to ${perAxis((a) => (a === 0 ? `${pad[0]} top, ${pad[1]} bottom` : `${pad[2]} left, ${pad[3]} right`))} ` +
        '(TF rule: total = max((⌈I/S⌉ − 1)·S + K − I, 0), the odd pixel at the bottom/right).',
    );
  }
  if (rounds) notes.push('The division rounds down: a window that would hang over the edge is dropped.');
  return {
    title: 'Output size',
    formula,
    substituted,
    result: shapeText(layer.outputShape),
    ...(notes.length ? { note: notes.join(' ') } : {}),
  };
}

function receptiveField(layer: LayerAnalysis, view: WindowView | null): Explanation | null {
  const rf = layer.receptiveField;
  const g = layer.geometry;
  if (!rf) return null;
  const inRf: RF | null | undefined = view?.input.receptiveField;
  const pad = view?.pad ?? g?.pad ?? [0, 0, 0, 0];
  let formula = 'r = r_in + (K − 1)·j_in;  j = j_in·S;  start = start_in + ((K − 1)/2 − P)·j_in';
  let substituted: string;
  if (g && inRf && g.padding !== 'explicit') {
    const keff = (a: 0 | 1) => (g.kernel[a] - 1) * g.dilation[a] + 1;
    if (g.dilation[0] > 1 || g.dilation[1] > 1) formula = formula.replace(/\(K − 1\)/g, 'D·(K − 1)');
    substituted = perAxis(
      (a) =>
        `r = ${inRf.size[a]} + (${keff(a)} − 1)·${inRf.jump[a]} = ${inRf.size[a] + (keff(a) - 1) * inRf.jump[a]}; ` +
        `j = ${inRf.jump[a]}·${g.stride[a]} = ${inRf.jump[a] * g.stride[a]}; ` +
        `start = ${inRf.start[a]} + (${(keff(a) - 1) / 2} − ${pad[a * 2]})·${inRf.jump[a]} = ${inRf.start[a] + ((keff(a) - 1) / 2 - pad[a * 2]) * inRf.jump[a]}`,
    );
  } else {
    formula = 'size r, jump j (input pixels between neighbouring units), start (centre of unit 0)';
    substituted = perAxis((a) => `r = ${rf.size[a]}, j = ${rf.jump[a]}, start = ${rf.start[a]}`);
  }
  const notes: string[] = [];
  if (rf.paths && rf.paths.length > 1) {
    const sizes = [
      ...new Set(rf.paths.map((p) => (p.size[0] === p.size[1] ? `${p.size[0]}` : `${p.size[0]}×${p.size[1]}`))),
    ];
    const shown = sizes.slice(0, 8).join(', ') + (sizes.length > 8 ? ', …' : '');
    notes.push(
      `${rf.paths.length} paths from the input reach this layer with different fields (sizes ${shown}); the largest is reported and every path is kept.`,
    );
  }
  notes.push(`Unit (y, x) sees input pixels from start + y·j − (r − 1)/2 to start + y·j + (r − 1)/2 (same for x).`);
  return {
    title: 'Receptive field',
    formula,
    substituted,
    result: `${rf.size[0]} × ${rf.size[1]} input pixels, jump ${perAxis((a) => `${rf.jump[a]}`)}, unit 0 centred at ${perAxis((a) => `${rf.start[a]}`)}`,
    note: notes.join(' '),
  };
}

function macsExplanation(formula: string, substituted: string, macs: number): Explanation {
  return {
    title: 'Multiply-accumulates',
    formula,
    substituted,
    result: `${fmt(macs)} MACs ≈ ${magnitude(2 * macs)}FLOPs`,
    note: 'One MAC is a multiply and an add; "FLOPs" is sometimes the MAC count and sometimes twice it (here 2 × MACs).',
  };
}

function modelShare(layer: LayerAnalysis, analysis: ModelAnalysis): string {
  return `${pct(layer.params.total, analysis.totals.params)} of the model's ${fmt(analysis.totals.params)} parameters`;
}

function convExplanations(
  layer: LayerAnalysis,
  analysis: ModelAnalysis,
  byId: Map<string, LayerAnalysis>,
  inLayer: LayerAnalysis,
): Explanation[] {
  const g = layer.geometry;
  const inShape = inLayer.outputShape;
  if (!g || inShape.length !== 3) return [];
  const out: Explanation[] = [];
  const [kh, kw] = g.kernel;
  const square = kh === kw;
  const K = square ? 'K·K' : 'K_h·K_w';
  const k = `${kh}·${kw}`;
  const cin = inShape[2];
  const cout = layer.outputShape[2];
  const [ho, wo] = layer.outputShape;
  const size = outputSize(layer, windowView(layer, byId));
  if (size) out.push(size);
  const biasF = layer.params.biases ? ' + C_out' : '';
  const biasS = layer.params.biases ? ` + ${fmt(layer.params.biases)}` : '';
  const counted = `${fmt(layer.params.total)} (${fmt(layer.params.weights)} weights${layer.params.biases ? ` + ${fmt(layer.params.biases)} biases` : ', no bias'})`;

  if (layer.kind === 'conv') {
    const grouped = g.groups > 1;
    out.push({
      title: 'Parameters',
      formula: `${K}·${grouped ? '(C_in/G)' : 'C_in'}·C_out${biasF}`,
      substituted: `${k}·${grouped ? `(${cin}/${g.groups})` : cin}·${cout}${biasS}`,
      result: counted,
      note: `${modelShare(layer, analysis)}. One ${kh}×${kw}×${grouped ? cin / g.groups : cin} kernel per output channel, shared by all ${fmt(ho * wo)} positions.`,
    });
    out.push(
      macsExplanation(
        `H_out·W_out·${K}·${grouped ? '(C_in/G)' : 'C_in'}·C_out`,
        `${ho}·${wo}·${k}·${grouped ? `(${cin}/${g.groups})` : cin}·${cout}`,
        layer.macs,
      ),
    );
  } else if (layer.kind === 'depthwise') {
    const m = cout / cin;
    out.push({
      title: 'Parameters',
      formula: `${K}·C_in·M${layer.params.biases ? ' + C_in·M' : ''}`,
      substituted: `${k}·${cin}·${m}${biasS}`,
      result: counted,
      note: `Depthwise: one ${kh}×${kw} filter per input channel (depth multiplier M = ${m}); channels are not mixed.`,
    });
    out.push(macsExplanation(`H_out·W_out·${K}·C_in·M`, `${ho}·${wo}·${k}·${cin}·${m}`, layer.macs));
    const pw = downstream(analysis, layer.id).find(
      (l) => l.kind === 'conv' && l.geometry && l.geometry.kernel[0] === 1 && l.geometry.kernel[1] === 1,
    );
    if (pw && pw.outputShape.length === 3) {
      const c2 = pw.outputShape[2];
      const sep = kh * kw * cin * m + cin * m * c2;
      const full = kh * kw * cin * c2;
      out.push({
        title: 'Depthwise-separable saving',
        formula: `${K}·C_in + C_in·C_out  vs  ${K}·C_in·C_out`,
        substituted: `${k}·${cin * m} + ${cin * m}·${c2} = ${fmt(sep)}  vs  ${k}·${cin}·${c2} = ${fmt(full)}`,
        result: `${(full / sep).toFixed(1)}× fewer weights than one full ${kh}×${kw} conv to ${c2} channels`,
        note: `This depthwise conv and the 1×1 "${pw.name}" after it replace a full ${kh}×${kw} conv.`,
      });
    }
  } else if (layer.kind === 'separable') {
    // weights = K·K·(C_in·M) + (C_in·M)·C_out, so the depthwise output width C_in·M = weights / (K·K + C_out).
    const mid = layer.params.weights / (kh * kw + cout);
    out.push({
      title: 'Parameters',
      formula: `${K}·C_in·M + C_in·M·C_out${biasF}`,
      substituted: `${k}·${mid} + ${mid}·${cout}${biasS}`,
      result: counted,
      note: `Depthwise ${kh}×${kw} per channel, then a 1×1 pointwise conv mixing ${mid} channels into ${cout}.`,
    });
    out.push(
      macsExplanation(
        `H_out·W_out·(${K}·C_in·M + C_in·M·C_out)`,
        `${ho}·${wo}·(${k}·${mid} + ${mid}·${cout})`,
        layer.macs,
      ),
    );
  }

  const rf = receptiveField(layer, windowView(layer, byId));
  if (rf) out.push(rf);

  // A 1×1 bottleneck against the K×K conv it shrinks (GoogLeNet's reduce layers, ResNet's bottlenecks).
  if (layer.kind === 'conv' && g.groups === 1) {
    if (kh === 1 && kw === 1) {
      const next = downstream(analysis, layer.id).find(
        (l) => l.kind === 'conv' && l.geometry && l.geometry.kernel[0] * l.geometry.kernel[1] > 1,
      );
      if (next) out.push(bottleneck(layer, next, cin));
    } else {
      const prev = upstream(byId, layer.inputs[0], PASS_THROUGH);
      if (
        prev &&
        prev.kind === 'conv' &&
        prev.geometry &&
        prev.geometry.kernel[0] === 1 &&
        prev.geometry.kernel[1] === 1
      ) {
        const prevIn = byId.get(prev.inputs[0]);
        if (prevIn && prevIn.outputShape.length === 3) out.push(bottleneck(prev, layer, prevIn.outputShape[2]));
      }
    }
  }
  return out;
}

function bottleneck(reduce: LayerAnalysis, conv: LayerAnalysis, cin: number): Explanation {
  const cmid = reduce.outputShape[2];
  const cout = conv.outputShape[2];
  const [kh, kw] = conv.geometry?.kernel ?? [3, 3];
  const k = `${kh}·${kw}`;
  const withB = cin * cmid + kh * kw * cmid * cout;
  const direct = kh * kw * cin * cout;
  const saved = direct - withB;
  return {
    title: `1×1 bottleneck vs a direct ${kh}×${kw}`,
    formula: `1·1·C_in·C_mid + ${kh === kw ? 'K·K' : 'K_h·K_w'}·C_mid·C_out  vs  ${kh === kw ? 'K·K' : 'K_h·K_w'}·C_in·C_out`,
    substituted: `1·1·${cin}·${cmid} + ${k}·${cmid}·${cout} = ${fmt(withB)}  vs  ${k}·${cin}·${cout} = ${fmt(direct)}`,
    result:
      saved > 0
        ? `saves ${fmt(saved)} weights (${pct(saved, direct)}); ${(direct / withB).toFixed(1)}× fewer`
        : `costs ${fmt(-saved)} more weights than the direct ${kh}×${kw} (the 1×1 does not reduce channels here)`,
    note: `"${reduce.name}" squeezes ${cin} channels to ${cmid} before the ${kh}×${kw} "${conv.name}" produces ${cout}; the same holds for the multiply-adds at every position.`,
  };
}

function denseExplanations(
  layer: LayerAnalysis,
  analysis: ModelAnalysis,
  byId: Map<string, LayerAnalysis>,
  inLayer: LayerAnalysis,
): Explanation[] {
  const out: Explanation[] = [];
  const nIn = inLayer.outputShape[inLayer.outputShape.length - 1];
  const nOut = layer.outputShape[layer.outputShape.length - 1];
  out.push({
    title: 'Parameters',
    formula: layer.params.biases ? 'N_in·N_out + N_out' : 'N_in·N_out',
    substituted: `${fmt(nIn)}·${fmt(nOut)}${layer.params.biases ? ` + ${fmt(nOut)}` : ''}`,
    result: `${fmt(layer.params.total)} (${fmt(layer.params.weights)} weights + ${fmt(layer.params.biases)} biases)`,
    note: `${modelShare(layer, analysis)}.`,
  });
  out.push(macsExplanation('N_in·N_out', `${fmt(nIn)}·${fmt(nOut)}`, layer.macs));
  // Why a dense layer after a conv stack is large: the flatten makes N_in = H·W·C.
  const src = upstream(byId, layer.inputs[0], new Set(['dropout', 'activation', 'norm']));
  if (src && src.kind === 'flatten') {
    const map = byId.get(src.inputs[0]);
    if (map && map.outputShape.length === 3) {
      const [h, w, c] = map.outputShape;
      out.push({
        title: 'Why this dense layer is large',
        formula: 'N_in = H·W·C of the flattened feature map;  weights = N_in·N_out',
        substituted: `N_in = ${h}·${w}·${c} = ${fmt(h * w * c)};  ${fmt(h * w * c)}·${fmt(nOut)} = ${fmt(h * w * c * nOut)}`,
        result: `${modelShare(layer, analysis)}`,
        note:
          `Every one of the ${fmt(h * w * c)} values of "${map.name}" connects to every unit. A conv layer reuses one K·K·C_in kernel at all positions, ` +
          `so its weights do not grow with H·W; here they do. Dense layers hold ${pct(analysis.totals.denseParams, analysis.totals.params)} of this model, ` +
          `conv layers ${pct(analysis.totals.convParams, analysis.totals.params)}. Global average pooling (as in ResNet or GoogLeNet) would make N_in = C = ${c}.`,
      });
    }
  } else if (src && src.kind === 'globalpool') {
    const map = byId.get(src.inputs[0]);
    if (map && map.outputShape.length === 3) {
      const [h, w, c] = map.outputShape;
      out.push({
        title: 'Why this dense layer is small',
        formula: 'N_in = C after global pooling (instead of H·W·C after a flatten)',
        substituted: `N_in = ${c} instead of ${h}·${w}·${c} = ${fmt(h * w * c)}`,
        result: `${fmt(c * nOut)} weights instead of ${fmt(h * w * c * nOut)}`,
        note: `Global pooling averages each of the ${c} channels over its ${h}×${w} positions first.`,
      });
    }
  }
  return out;
}

/**
 * The explanations of one layer's numbers (output size, parameters, MACs, receptive field, and where relevant
 * a bottleneck's saving or why a dense layer is large), with this layer's values substituted.
 * Returns [] for an unknown id.
 */
export function explainLayer(analysis: ModelAnalysis, layerId: string): Explanation[] {
  const byId = index(analysis);
  const layer = byId.get(layerId);
  if (!layer) return [];
  const inLayer = layer.inputs.length ? byId.get(layer.inputs[0]) : undefined;
  const inShape = inLayer?.outputShape ?? [];
  const out: Explanation[] = [];

  switch (layer.kind) {
    case 'input':
      out.push({
        title: 'Input',
        formula: 'H × W × C',
        substituted: `${analysis.input[0]} × ${analysis.input[1]} × ${analysis.input[2]}`,
        result: `${fmt(analysis.input[0] * analysis.input[1] * analysis.input[2])} values; each unit's field is its own pixel (r = 1, j = 1)`,
      });
      break;
    case 'conv':
    case 'depthwise':
    case 'separable':
      if (inLayer) out.push(...convExplanations(layer, analysis, byId, inLayer));
      break;
    case 'dense':
      if (inLayer && inShape.length) out.push(...denseExplanations(layer, analysis, byId, inLayer));
      break;
    case 'pool': {
      const size = outputSize(layer, windowView(layer, byId));
      if (size) out.push(size);
      const op = poolOperation(layer);
      out.push({
        title: 'Parameters',
        formula:
          op === 'max'
            ? 'none — max pooling keeps the largest value of each window'
            : op === 'average'
              ? 'none — average pooling takes the mean of each window'
              : 'none — pooling combines each window by a fixed rule',
        substituted: `${layer.geometry?.kernel.join('×')} window, stride ${layer.geometry?.stride.join('×')}`,
        result: '0',
        note: 'Each channel is pooled on its own: the channel count does not change.',
      });
      const rf = receptiveField(layer, windowView(layer, byId));
      if (rf) out.push(rf);
      break;
    }
    case 'globalpool':
      if (inShape.length === 3) {
        out.push({
          title: 'Output size',
          formula: 'H × W × C → C',
          substituted: `${inShape[0]} × ${inShape[1]} × ${inShape[2]} → ${inShape[2]}`,
          result: shapeText(layer.outputShape),
          note: `Each channel is ${poolOperation(layer) === 'max' ? 'reduced to its maximum' : poolOperation(layer) === 'average' ? 'averaged' : 'reduced'} over all ${fmt(inShape[0] * inShape[1])} positions; from here on units have no spatial field.`,
        });
      }
      break;
    case 'norm': {
      const c = layer.outputShape[layer.outputShape.length - 1] ?? 0;
      const perC = layer.params.total / Math.max(c, 1);
      out.push({
        title: 'Parameters',
        formula:
          perC === 4
            ? '4·C = 2·C trainable (γ, β) + 2·C non-trainable (moving mean μ, moving variance σ²)'
            : `${perC}·C = ${perC - 2}·C trainable (${layer.params.weights ? 'γ' : ''}${layer.params.weights && layer.params.biases ? ', ' : ''}${layer.params.biases ? 'β' : ''}) + 2·C non-trainable (μ, σ²)`,
        substituted: `${perC}·${c}`,
        result: `${fmt(layer.params.total)} (${fmt(layer.params.trainable)} trainable + ${fmt(layer.params.nonTrainable)} non-trainable)`,
        note: 'Keras counts the moving statistics as non-trainable parameters; PyTorch keeps them as buffers and does not count them.',
      });
      break;
    }
    case 'concat': {
      const chans = layer.inputs.map((i) => byId.get(i)?.outputShape.at(-1) ?? 0);
      out.push({
        title: 'Output size',
        formula: 'C_out = C_1 + C_2 + … (same H × W)',
        substituted: `${chans.join(' + ')} = ${chans.reduce((a, b) => a + b, 0)}`,
        result: shapeText(layer.outputShape),
      });
      const module = inceptionModule(analysis, layer.id);
      if (module) out.push(...inceptionExplanations(module));
      const rf = receptiveField(layer, null);
      if (rf) out.push(rf);
      break;
    }
    case 'add':
    case 'multiply': {
      out.push({
        title: 'Output size',
        formula:
          layer.kind === 'add'
            ? 'element-wise sum: all inputs have the same shape'
            : 'element-wise product: all inputs have the same shape',
        substituted: layer.inputs
          .map((i) => shapeText(byId.get(i)?.outputShape ?? []))
          .join(layer.kind === 'add' ? ' + ' : ' ⊙ '),
        result: shapeText(layer.outputShape),
        ...residualNote(analysis, layer.id),
      });
      const rf = receptiveField(layer, null);
      if (rf) out.push(rf);
      break;
    }
    case 'flatten':
      if (inShape.length) {
        out.push({
          title: 'Output size',
          formula: 'N = H·W·C',
          substituted: `${inShape.join('·')} = ${fmt(inShape.reduce((a, b) => a * b, 1))}`,
          result: shapeText(layer.outputShape),
          note: 'Flattening keeps every value; a dense layer after it gets one weight per value per unit.',
        });
      }
      break;
    case 'padding':
    case 'crop': {
      const g = layer.geometry;
      if (g && inShape.length === 3) {
        out.push({
          title: 'Output size',
          formula: layer.kind === 'padding' ? 'O = I + P_before + P_after' : 'O = I − C_before − C_after',
          substituted: perAxis(
            (a) => `${inShape[a]} + ${g.pad[a * 2]} + ${g.pad[a * 2 + 1]} = ${layer.outputShape[a]}`,
          ),
          result: shapeText(layer.outputShape),
          note: "Padding moves the first unit's field by P pixels (start − P·j); the field size does not change.",
        });
      }
      break;
    }
    default:
      if (layer.outputShape.length) {
        out.push({
          title: 'Output size',
          formula: layer.kind === 'unknown' ? 'unknown layer' : 'unchanged (element-wise)',
          substituted: `${shapeText(inShape)} → ${shapeText(layer.outputShape)}`,
          result: shapeText(layer.outputShape),
        });
      } else if (layer.kind === 'unknown') {
        out.push({
          title: 'Unknown layer',
          formula: `${layer.className}: not understood by the analysis`,
          substituted: `weights from the manifest: ${fmt(layer.params.total)}`,
          result: 'output shape unknown',
        });
      }
  }
  return out;
}

// ------------------------------------------------------------------ pools, merges, Inception modules

/**
 * How a pooling layer combines its window, from its source class: Keras (MaxPooling2D, AveragePooling2D,
 * GlobalAveragePooling2D, AvgPool2D), ONNX (MaxPool, AveragePool, GlobalAveragePool, ReduceMean), TF graph ops
 * (MaxPool, AvgPool, Mean, Max) and the zoo (Keras names) all say it. Null for other layers, or a class that does
 * not say.
 */
export function poolOperation(layer: LayerAnalysis): 'max' | 'average' | null {
  if (layer.kind !== 'pool' && layer.kind !== 'globalpool') return null;
  if (/max/i.test(layer.className)) return 'max';
  if (/av(era)?g|mean/i.test(layer.className)) return 'average';
  return null;
}

/**
 * One line saying exactly what a pooling layer does: "max pooling · 3×3 window · stride 2 · padding 'same' (0 top,
 * 1 bottom, 0 left, 1 right)" or "global average pooling over 7×7 positions". Null for other layers.
 */
export function poolSummary(analysis: ModelAnalysis, layerId: string): string | null {
  const byId = index(analysis);
  const layer = byId.get(layerId);
  if (!layer) return null;
  const op = poolOperation(layer);
  const name = op === 'max' ? 'max pooling' : op === 'average' ? 'average pooling' : `pooling (${layer.className})`;
  if (layer.kind === 'globalpool') {
    const inShape = layer.inputs.length ? byId.get(layer.inputs[0])?.outputShape : undefined;
    const over =
      inShape && inShape.length === 3 ? ` over all ${inShape[0]}×${inShape[1]} positions of each channel` : '';
    return `global ${name}${over}`;
  }
  if (layer.kind !== 'pool' || !layer.geometry) return null;
  const g = layer.geometry;
  const [t, b, l, r] = g.pad;
  const pad =
    t + b + l + r === 0
      ? 'no padding'
      : `padding ${g.padding === 'explicit' ? '' : `'${g.padding}' `}(${t} top, ${b} bottom, ${l} left, ${r} right)`;
  return `${name} · ${g.kernel.join('×')} window · stride ${g.stride.join('×')} · ${pad}`;
}

/** One input of a merge layer (add, concatenation, multiply…), in the merge's own order. */
export interface MergeInput {
  id: string;
  name: string;
  /** Channels (the last axis) this input brings; null when its shape is unknown. */
  channels: number | null;
  /** For a residual add: which input is the skip connection and which the residual branch. */
  role?: 'identity shortcut' | 'projection shortcut' | 'residual branch';
}

/** What a merge layer does with which layers. */
export interface MergeFacts {
  /** "adds", "concatenates", "multiplies", "averages", "subtracts (first − second)", … */
  verb: string;
  inputs: MergeInput[];
}

/** Distance (in layers) from `id` to each of its ancestors, `id` itself at 0. */
function ancestorDistances(byId: Map<string, LayerAnalysis>, id: string): Map<string, number> {
  const dist = new Map<string, number>([[id, 0]]);
  const queue = [id];
  while (queue.length) {
    const cur = queue.shift() as string;
    const d = dist.get(cur) as number;
    for (const i of byId.get(cur)?.inputs ?? []) {
      if (dist.has(i)) continue;
      dist.set(i, d + 1);
      queue.push(i);
    }
  }
  return dist;
}

/** The verb of a merge layer, from its kind and source class (the analysis maps Subtract, Maximum… to 'add'). */
function mergeVerb(layer: LayerAnalysis): string {
  if (layer.kind === 'concat') return 'concatenates';
  if (layer.kind === 'multiply') return 'multiplies';
  const c = layer.className;
  if (/sub/i.test(c)) return 'subtracts (first − second)';
  if (/average|mean/i.test(c)) return 'averages';
  if (/max/i.test(c)) return 'takes the element-wise maximum of';
  if (/min/i.test(c)) return 'takes the element-wise minimum of';
  return 'adds';
}

/**
 * The layers a merge layer (add, concatenation, multiply…) combines, in its own order, with the channels each
 * brings. For a two-input add the skip connection is told from the residual branch: an input that is an ancestor
 * of the other is the identity shortcut; otherwise the one with the shorter path from their nearest common
 * ancestor is the shortcut (a projection when a conv sits on it, as in ResNet's first block of a stage).
 * Null for a layer that is not a merge.
 */
export function mergeInputs(analysis: ModelAnalysis, layerId: string): MergeFacts | null {
  const byId = index(analysis);
  const layer = byId.get(layerId);
  if (!layer || !['add', 'concat', 'multiply'].includes(layer.kind) || layer.inputs.length < 2) return null;
  const inputs: MergeInput[] = layer.inputs.map((id) => {
    const l = byId.get(id);
    const c = l?.outputShape.at(-1);
    return { id, name: l?.name ?? id, channels: typeof c === 'number' ? c : null };
  });
  if (layer.kind === 'add' && mergeVerb(layer) === 'adds' && inputs.length === 2) {
    const [a, b] = layer.inputs;
    const da = ancestorDistances(byId, a);
    const db = ancestorDistances(byId, b);
    let shortcut = -1;
    let projection = false;
    if (db.has(a) && !da.has(b)) shortcut = 0;
    else if (da.has(b) && !db.has(a)) shortcut = 1;
    else {
      // The nearest common ancestor: the block's input both paths start from.
      let best: string | null = null;
      for (const [id, d] of da) {
        const e = db.get(id);
        if (e !== undefined && (best === null || d + e < (da.get(best) as number) + (db.get(best) as number)))
          best = id;
      }
      if (best !== null) {
        const la = da.get(best) as number;
        const lb = db.get(best) as number;
        if (la !== lb) {
          shortcut = la < lb ? 0 : 1;
          const s = upstream(byId, layer.inputs[shortcut], PASS_THROUGH);
          projection = !!s && s.id !== best && ['conv', 'depthwise', 'separable'].includes(s.kind);
        }
      }
    }
    if (shortcut >= 0) {
      inputs[shortcut].role = projection ? 'projection shortcut' : 'identity shortcut';
      inputs[1 - shortcut].role = 'residual branch';
    }
  }
  return { verb: mergeVerb(layer), inputs };
}

/** For a residual add: which input is F(x) and which the shortcut x, in the lecture's words, as a note. */
function residualNote(analysis: ModelAnalysis, layerId: string): { note?: string } {
  const merge = mergeInputs(analysis, layerId);
  const shortcut = merge?.inputs.find((i) => i.role === 'identity shortcut' || i.role === 'projection shortcut');
  const branch = merge?.inputs.find((i) => i.role === 'residual branch');
  if (!shortcut || !branch) return {};
  const how =
    shortcut.role === 'projection shortcut'
      ? `the shortcut x through a 1×1 projection conv ("${shortcut.name}"), because the block changes the channels or the resolution`
      : `the shortcut: the block's input x itself ("${shortcut.name}")`;
  return {
    note: `A residual connection: "${branch.name}" ends the residual branch F(x), and ${how}; the block outputs F(x) + x.`,
  };
}

/** One parallel branch of an Inception module. */
export interface InceptionBranch {
  /** The layer that ends the branch (the concatenation's input). */
  id: string;
  name: string;
  /** Channels the branch contributes. */
  channels: number;
  /** Its windowed layers in order: "1×1", "1×1 → 3×3", "3×3 max pool → 1×1"; parallel parts joined by " ‖ ". */
  path: string;
  /** 1×1 convs of the branch right before a larger conv, with the channels the 1×1 reads. */
  reductions: { reduce: LayerAnalysis; conv: LayerAnalysis; cin: number }[];
}

/** An Inception module: parallel branches from one layer, concatenated. */
export interface InceptionModule {
  concat: LayerAnalysis;
  /** The layer every branch starts from. */
  source: LayerAnalysis;
  branches: InceptionBranch[];
}

const WINDOWED = new Set(['conv', 'depthwise', 'separable', 'pool']);

/**
 * Recognises an Inception module at a concatenation: two or more inputs, none an ancestor of another, whose
 * branches start from one common layer and share no layer in between (GoogLeNet's 1×1 / 3×3 / 5×5 / pool
 * branches; Inception-v3's mixed blocks). A DenseNet concatenation (one input is an ancestor of the other) is
 * not one. Null otherwise.
 */
export function inceptionModule(analysis: ModelAnalysis, layerId: string): InceptionModule | null {
  const byId = index(analysis);
  const concat = byId.get(layerId);
  if (!concat || concat.kind !== 'concat' || concat.inputs.length < 2) return null;
  const dists = concat.inputs.map((i) => ancestorDistances(byId, i));
  for (let i = 0; i < dists.length; i++) {
    for (let j = 0; j < dists.length; j++) if (i !== j && dists[j].has(concat.inputs[i])) return null;
  }
  // The nearest layer that every branch descends from.
  let source: string | null = null;
  let best = Infinity;
  for (const [id] of dists[0]) {
    if (!dists.every((d) => d.has(id))) continue;
    const total = dists.reduce((a, d) => a + (d.get(id) as number), 0);
    if (total < best) {
      best = total;
      source = id;
    }
  }
  if (source === null) return null;
  const sourceAncestors = ancestorDistances(byId, source);
  const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
  const owner = new Map<string, number>();
  const members: LayerAnalysis[][] = [];
  for (let b = 0; b < dists.length; b++) {
    const own: LayerAnalysis[] = [];
    for (const [id] of dists[b]) {
      if (sourceAncestors.has(id)) continue;
      if (owner.has(id)) return null; // branches that share a layer are not parallel
      owner.set(id, b);
      const l = byId.get(id);
      if (l) own.push(l);
    }
    own.sort((x, y) => (order.get(x.id) as number) - (order.get(y.id) as number));
    members.push(own);
  }
  const src = byId.get(source);
  if (!src) return null;
  const branches = concat.inputs.map((id, b): InceptionBranch => {
    const end = byId.get(id);
    const steps = members[b].filter((l) => WINDOWED.has(l.kind) && l.geometry);
    let path = '';
    steps.forEach((l, k) => {
      const g = l.geometry as NonNullable<LayerAnalysis['geometry']>;
      const what =
        l.kind === 'pool'
          ? `${g.kernel.join('×')} ${poolOperation(l) === 'average' ? 'avg' : poolOperation(l) === 'max' ? 'max' : ''} pool`.replace(
              /\s+/g,
              ' ',
            )
          : `${g.kernel.join('×')}${l.kind === 'depthwise' ? ' depthwise' : l.kind === 'separable' ? ' separable' : ''}${g.stride[0] > 1 || g.stride[1] > 1 ? `/${g.stride[0]}` : ''}`;
      if (k === 0) path = what;
      else {
        // A step that does not descend from the one before runs beside it (Inception-v3's 1×3 ‖ 3×1 split).
        const follows = ancestorDistances(byId, l.id).has(steps[k - 1].id);
        path += `${follows ? ' → ' : ' ‖ '}${what}`;
      }
    });
    const reductions: InceptionBranch['reductions'] = [];
    for (const l of steps) {
      if (l.kind !== 'conv' || !l.geometry || l.geometry.kernel[0] !== 1 || l.geometry.kernel[1] !== 1) continue;
      if (l.geometry.groups !== 1) continue;
      const next = steps.find(
        (m) =>
          m.kind === 'conv' &&
          m.geometry &&
          m.geometry.groups === 1 &&
          m.geometry.kernel[0] * m.geometry.kernel[1] > 1 &&
          upstream(byId, m.inputs[0], PASS_THROUGH)?.id === l.id,
      );
      const cin = byId.get(l.inputs[0])?.outputShape.at(-1);
      if (next && typeof cin === 'number') reductions.push({ reduce: l, conv: next, cin });
    }
    const c = end?.outputShape.at(-1);
    return { id, name: end?.name ?? id, channels: typeof c === 'number' ? c : 0, path: path || 'identity', reductions };
  });
  return { concat, source: src, branches };
}

function inceptionExplanations(m: InceptionModule): Explanation[] {
  const out: Explanation[] = [];
  const widths = m.branches.map((b) => b.channels);
  const total = widths.reduce((a, b) => a + b, 0);
  out.push({
    title: 'Inception module: branch widths',
    formula: 'C_out = C_branch1 + C_branch2 + … (each branch sees the same input; outputs share H × W)',
    substituted: m.branches.map((b) => `${b.path}: ${b.channels}`).join(' + ') + ` = ${total}`,
    result: `${m.branches.length} branches: ${widths.join(', ')} channels`,
    note: `Every branch starts from "${m.source.name}" (${shapeText(m.source.outputShape)}) and they run in parallel; their outputs are stacked along the channels.`,
  });
  const pairs = m.branches.flatMap((b) => b.reductions);
  if (pairs.length) {
    let withB = 0;
    let direct = 0;
    const parts: string[] = [];
    for (const { reduce, conv, cin } of pairs) {
      const [kh, kw] = conv.geometry?.kernel ?? [3, 3];
      const cmid = reduce.outputShape.at(-1) ?? 0;
      const cout = conv.outputShape.at(-1) ?? 0;
      withB += cin * cmid + kh * kw * cmid * cout;
      direct += kh * kw * cin * cout;
      parts.push(`1·1·${cin}·${cmid} + ${kh}·${kw}·${cmid}·${cout} vs ${kh}·${kw}·${cin}·${cout}`);
    }
    const saved = direct - withB;
    out.push({
      title: '1×1 reductions in this module',
      formula: 'Σ (1·1·C_in·C_mid + K·K·C_mid·C_out)  vs  Σ K·K·C_in·C_out',
      substituted: parts.join('; '),
      result:
        saved > 0
          ? `${fmt(withB)} weights instead of ${fmt(direct)}: saves ${fmt(saved)} (${pct(saved, direct)}); ${(direct / withB).toFixed(1)}× fewer`
          : `${fmt(withB)} weights against ${fmt(direct)} for direct convs: the 1×1 layers do not reduce here`,
      note: `Each 1×1 conv squeezes the channels before its branch's larger conv (the module's input "${m.source.name}" has ${m.source.outputShape.at(-1) ?? '?'}); the same ratio holds for the multiply-adds at every position.`,
    });
  }
  return out;
}
