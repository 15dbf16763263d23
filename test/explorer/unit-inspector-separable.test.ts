/**
 * The step-through and the kernel view for the two conv kinds that are not one window × one kernel: a separable
 * unit (depthwise sums per channel, then a 1×1 pointwise sum over them) and a transposed-conv unit (the input cells
 * its taps reach, y = i·S − P + k·D). Inspections built by hand, numbers worked out by hand in the comments.
 */
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import KernelView from '../../renderer/src/explorer/components/KernelView.vue';
import StepThrough from '../../renderer/src/explorer/components/StepThrough.vue';
import type { UnitInspection } from '../../renderer/src/engine/unit-inspect';

/**
 * 2×2 separable over 2 input channels at (3, 5), no padding. Depthwise: slice 0 = 1·1 + 4·1 = 5, slice 1 =
 * 1·0.5 + 1·0.5 = 1; pointwise weights 2 and −3: 10 − 3 = 7; bias 0.5 → 7.5.
 */
function separable(): UnitInspection {
  return {
    layer: 'sep',
    op: 'separable',
    channel: 2,
    y: 3,
    x: 5,
    kernelSize: [2, 2],
    strides: [1, 1],
    dilation: [1, 1],
    pad: [0, 0, 0, 0],
    kernels: [
      { inputChannel: 0, weights: Float32Array.of(1, 0, 0, 1), norm: Math.SQRT2 },
      { inputChannel: 1, weights: Float32Array.of(0.5, 0.5, 0, 0), norm: Math.SQRT1_2 },
    ],
    rgb: null,
    bias: 0.5,
    patch: {
      layer: 'x',
      rows: 2,
      cols: 2,
      channels: [0, 1],
      top: 3,
      left: 5,
      step: [1, 1],
      values: Float32Array.of(1, 2, 3, 4, 1, 1, 1, 1),
      cells: new Uint8Array(4),
      products: Float32Array.of(1, 0, 0, 4, 0.5, 0.5, 0, 0),
    },
    pointwise: {
      depthwise: Float32Array.of(5, 1),
      weights: Float32Array.of(2, -3),
      products: Float32Array.of(10, -3),
    },
    stages: [
      { layer: 'sep', kind: 'sum', label: 'Σ 2 pointwise products = 7.0000', value: 7, engine: null },
      { layer: 'sep', kind: 'bias', label: '7.0000 + 0.5000 (bias) = 7.5000', value: 7.5, engine: 7.5 },
    ],
    value: 7.5,
  };
}

/**
 * 3×3 transposed conv, stride 2, padding 1, one input channel, output (0, 0): tap k reads input row (0 + 1 − k) / 2,
 * a cell only for k = 1 (row 0), likewise for columns — the centre tap alone, input (0, 0) = 2 × 1.5 = 3.
 */
function transposed(): UnitInspection {
  const G = 3;
  return {
    layer: 'up',
    op: 'convtranspose',
    channel: 0,
    y: 0,
    x: 0,
    kernelSize: [3, 3],
    strides: [2, 2],
    dilation: [1, 1],
    pad: [1, 1, 1, 1],
    kernels: [{ inputChannel: 0, weights: Float32Array.of(9, 9, 9, 9, 1.5, 9, 9, 9, 9), norm: 24 }],
    rgb: null,
    bias: 0,
    patch: {
      layer: 'x',
      rows: 3,
      cols: 3,
      channels: [0],
      top: 0,
      left: 0,
      step: [1, 1],
      values: Float32Array.of(0, 0, 0, 0, 2, 0, 0, 0, 0),
      cells: Uint8Array.of(G, G, G, G, 0, G, G, G, G),
      products: Float32Array.of(0, 0, 0, 0, 3, 0, 0, 0, 0),
      taps: Int32Array.of(-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1),
    },
    stages: [{ layer: 'up', kind: 'sum', label: 'Σ 9 products = 3.0000', value: 3, engine: 3 }],
    value: 3,
  };
}

const text = (w: ReturnType<typeof mount>) => w.find('[data-testid="step-text"]').text();
const next = (w: ReturnType<typeof mount>) => w.find('[data-testid="step-next"]').trigger('click');

describe('StepThrough: separable and transposed convs', () => {
  it('a separable unit: patch per depthwise channel, depthwise sums, pointwise products, sum, bias', async () => {
    const w = mount(StepThrough, { props: { inspection: separable() } });
    expect(w.findAll('[data-testid="step"]').map((s) => s.text())).toEqual([
      'Input patch',
      'Products',
      'Depthwise sums',
      'Pointwise',
      'Sum',
      '+ Bias',
    ]);
    expect(text(w)).toContain('a 2×2×2 patch of x (one slice per depthwise channel: 2) at rows 3…4, cols 5…6');
    expect(w.findAll('[data-testid="step-slice"] option').map((o) => o.text())).toEqual(['0 (in 0)', '1 (in 1)']);
    await next(w);
    expect(text(w)).toContain('2 channels × 4 = 8 products');
    await next(w);
    expect(text(w)).toContain('2 values, the depthwise output at (3, 5)');
    await next(w);
    expect(text(w)).toContain('× its 1×1 weight for channel 2: 2 products');
    // Largest |product| first.
    expect(w.findAll('[data-testid="step-pointwise"] tr').map((t) => t.text())).toEqual([
      'dw 0 (in 0)5.0000 × 2.0000= 10.0000',
      'dw 1 (in 1)1.0000 × -3.0000= -3.0000',
    ]);
    expect(w.find('[data-testid="step-grid"]').exists()).toBe(false);
    await next(w);
    await next(w);
    expect(w.find('[data-testid="step-check"]').text()).toBe('Final value 7.5000 = the engine’s value 7.5000');
  });

  it('a transposed-conv unit: which taps reach an input cell, the rest marked as falling between cells', async () => {
    const w = mount(StepThrough, { props: { inspection: transposed() } });
    expect(text(w)).toBe(
      'Input patch: Output row y takes input row i through kernel row k where y = i·2 − 1 + k·1 (columns alike): ' +
        '1 of the 3×3 taps reach an input cell (rows 0…0, cols 0…0 of x), 8 fall between cells (the stride); ' +
        'over 1 input channel.',
    );
    const tds = w.findAll('[data-testid="step-grid"] td');
    expect(tds.map((t) => t.classes('gap'))).toEqual([true, true, true, true, false, true, true, true, true]);
    expect(tds[4].attributes('title')).toBe('input (0, 0)');
    expect(tds[0].attributes('title')).toBe('no input cell reaches this output through this tap');
    await next(w);
    expect(tds.length).toBe(9);
    const centre = w.findAll('[data-testid="step-grid"] td')[4];
    expect([centre.find('.prod').text(), centre.find('.calc').text()]).toEqual(['3.0000', '2.0000 × 1.5000']);
    expect(text(w)).toContain('(0 where a tap reaches no cell)');
  });
});

describe('KernelView: separable and transposed convs', () => {
  it('a separable unit shows its depthwise slices by depthwise channel and its pointwise strip', () => {
    const w = mount(KernelView, { props: { inspection: separable() } });
    expect(w.find('[data-testid="kernel-dims"]').text()).toBe('2×2 depthwise × 2 channels, then 1×1 pointwise over 2');
    expect(w.findAll('[data-testid="kernel-slice"] .caption').map((c) => c.text())).toEqual([
      'dw 0 (in 0) · ‖w‖ 1.414',
      'dw 1 (in 1) · ‖w‖ 0.707',
    ]);
    // ‖(2, −3)‖ = √13.
    expect(w.find('[data-testid="kernel-pointwise"]').text()).toContain('2 weights, one per depthwise channel');
    expect(w.find('[data-testid="kernel-pointwise"]').text()).toContain(`‖w‖ ${Math.sqrt(13).toFixed(3)}`);
  });

  it('a transposed conv says so, with its stride', () => {
    const w = mount(KernelView, { props: { inspection: transposed() } });
    expect(w.find('[data-testid="kernel-dims"]').text()).toBe('3×3 × 1 input channel, transposed with stride 2×2');
    expect(w.find('[data-testid="kernel-pointwise"]').exists()).toBe(false);
  });
});
