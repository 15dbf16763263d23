/**
 * The prediction of a classification head: top classes from the float output vector of the model's last layer.
 * Pure: the engine hands over the values it read once per pass.
 */
import type { Prediction } from '../../../common/engine-protocol';

/** True when `v` already is a probability distribution (a softmax head): all in [0, 1], summing to 1. */
function isDistribution(v: Float32Array): boolean {
  let sum = 0;
  for (const x of v) {
    if (!(x >= -1e-6 && x <= 1 + 1e-6)) return false;
    sum += x;
  }
  return Math.abs(sum - 1) < 1e-3;
}

/**
 * The top `k` classes of an output vector. A softmax head is read as it is; a single sigmoid unit becomes two
 * classes (p, 1 − p); anything else is taken as raw logits and gets a softmax (`softmaxApplied`). Returns null
 * for an empty vector or non-finite values (no prediction is better than a wrong one).
 */
export function topK(
  values: Float32Array,
  layerId: string,
  labels: readonly string[] | undefined,
  k = 5,
): Prediction | null {
  const n = values.length;
  if (n === 0 || values.some((x) => !Number.isFinite(x))) return null;
  const name = (i: number) => labels?.[i] ?? `class ${i}`;
  if (n === 1) {
    const p = values[0];
    if (!(p >= 0 && p <= 1)) return null;
    // A binary sigmoid head: unit = P(class 1).
    const top = [
      { index: 1, label: labels?.[1] ?? labels?.[0] ?? 'class 1', probability: p },
      { index: 0, label: labels && labels.length > 1 ? labels[0] : 'class 0', probability: 1 - p },
    ].sort((a, b) => b.probability - a.probability);
    return { layerId, top, softmaxApplied: false, classes: 2 };
  }
  let probs = values;
  let softmaxApplied = false;
  if (!isDistribution(values)) {
    let max = -Infinity;
    for (const x of values) max = Math.max(max, x);
    const e = new Float32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += e[i] = Math.exp(values[i] - max);
    for (let i = 0; i < n; i++) e[i] /= sum;
    probs = e;
    softmaxApplied = true;
  }
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  const top = idx.slice(0, Math.min(k, n)).map((i) => ({ index: i, label: name(i), probability: probs[i] }));
  return { layerId, top, softmaxApplied, classes: n };
}
