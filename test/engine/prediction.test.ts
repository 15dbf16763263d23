import { describe, expect, it } from 'vitest';
import { topK } from '../../renderer/src/engine/prediction';

describe('topK: the prediction a classification head shows', () => {
  it('reads a softmax head as it is, highest first, with the model’s class names', () => {
    const p = topK(new Float32Array([0.05, 0.6, 0.1, 0.2, 0.05]), 'out', ['a', 'b', 'c', 'd', 'e'])!;
    expect(p.softmaxApplied).toBe(false);
    expect(p.classes).toBe(5);
    expect(p.top.map((t) => t.label)).toEqual(['b', 'd', 'c', 'a', 'e']);
    expect(p.top[0].probability).toBeCloseTo(0.6, 6);
  });

  it('applies a softmax to raw logits and says so (hand-computed)', () => {
    const p = topK(new Float32Array([2, 1, 0]), 'fc', undefined)!;
    const z = Math.exp(2) + Math.exp(1) + 1;
    expect(p.softmaxApplied).toBe(true);
    expect(p.top.map((t) => [t.label, +t.probability.toFixed(6)])).toEqual([
      ['class 0', +(Math.exp(2) / z).toFixed(6)],
      ['class 1', +(Math.exp(1) / z).toFixed(6)],
      ['class 2', +(1 / z).toFixed(6)],
    ]);
  });

  it('keeps five of a thousand classes and names unnamed ones "class N"', () => {
    const v = new Float32Array(1000).fill(-5);
    v[6] = 9;
    v[999] = 8;
    const p = topK(v, 'logits', undefined)!;
    expect(p.top).toHaveLength(5);
    expect(p.top[0]).toMatchObject({ index: 6, label: 'class 6' });
    expect(p.top[1]).toMatchObject({ index: 999, label: 'class 999' });
  });

  it('turns one sigmoid unit into two classes, and refuses non-finite outputs', () => {
    const p = topK(new Float32Array([0.8]), 'out', ['cat', 'dog'])!;
    expect(p.top.map((t) => [t.label, +t.probability.toFixed(3)])).toEqual([
      ['dog', 0.8],
      ['cat', 0.2],
    ]);
    expect(topK(new Float32Array([NaN, 1]), 'out', undefined)).toBeNull();
    expect(topK(new Float32Array([]), 'out', undefined)).toBeNull();
  });
});
