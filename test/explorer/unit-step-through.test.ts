/**
 * StepThrough as a user sees it: the step list, the announced text, the patch with its padding cells, the products
 * with their factors, the stages' numbers, the check against the engine's value, and the controls (Next, Back,
 * Play, ←/→ keys). The inspection is built by hand: a 2×2 kernel over 1 channel at the top-left corner with
 * 'same' padding, value = 1·0.5 + 2·(−1) + bias 0.25 → −1.25, ReLU → 0.
 */
import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import StepThrough from '../../renderer/src/explorer/components/StepThrough.vue';
import type { UnitInspection } from '../../renderer/src/engine/unit-inspect';

function inspection(): UnitInspection {
  // Patch rows −1..0, cols −1..0: only (0, 0) is inside the image.
  const values = Float32Array.of(0, 0, 0, 4);
  const weights = Float32Array.of(3, 1, 2, 0.5);
  const products = Float32Array.of(0, 0, 0, 2);
  return {
    layer: 'conv',
    op: 'conv',
    channel: 0,
    y: 0,
    x: 0,
    kernelSize: [2, 2],
    strides: [1, 1],
    dilation: [1, 1],
    pad: [1, 0, 1, 0],
    kernels: [{ inputChannel: 0, weights, norm: Math.hypot(3, 1, 2, 0.5) }],
    rgb: null,
    bias: -2.25,
    patch: {
      layer: 'image',
      rows: 2,
      cols: 2,
      channels: [0],
      top: -1,
      left: -1,
      step: [1, 1],
      values,
      cells: Uint8Array.of(1, 1, 1, 0),
      products,
    },
    stages: [
      { layer: 'conv', kind: 'sum', label: 'Σ 4 products = 2.0000', value: 2, engine: null },
      { layer: 'conv', kind: 'bias', label: '2.0000 + -2.2500 (bias) = -0.2500', value: -0.25, engine: null },
      { layer: 'conv_relu', kind: 'activation', label: 'relu(-0.2500) = 0.0000', value: 0, engine: 0 },
    ],
    value: 0,
  };
}

const current = (w: ReturnType<typeof mount>) => w.find('[aria-current="step"]').text();
const cells = (w: ReturnType<typeof mount>) => w.findAll('[data-testid="step-grid"] td').map((td) => td.text());

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('StepThrough', () => {
  it('starts at the input patch: padding marked, the real values shown', () => {
    const w = mount(StepThrough, { props: { inspection: inspection() } });
    expect(w.findAll('[data-testid="step"]').map((s) => s.text())).toEqual([
      'Input patch',
      'Products',
      'Sum',
      '+ Bias',
      'Activation',
    ]);
    expect(current(w)).toBe('Input patch');
    expect(w.find('[data-testid="step-text"]').text()).toContain('3 of its 4 positions are padding');
    expect(w.find('[data-testid="step-text"]').text()).toContain('rows -1…0, cols -1…0');
    expect(cells(w)).toEqual(['0.0000', '0.0000', '0.0000', '4.0000']);
    const tds = w.findAll('[data-testid="step-grid"] td');
    expect(tds.map((t) => t.classes('pad'))).toEqual([true, true, true, false]);
    expect(tds[0].attributes('title')).toBe('padding');
  });

  it('Next walks through products, sum, bias and activation, and the end says it equals the engine', async () => {
    const w = mount(StepThrough, { props: { inspection: inspection() } });
    await w.find('[data-testid="step-next"]').trigger('click');
    expect(current(w)).toBe('Products');
    const last = w.findAll('[data-testid="step-grid"] td')[3];
    expect([last.find('.prod').text(), last.find('.calc').text()]).toEqual(['2.0000', '4.0000 × 0.5000']);
    await w.find('[data-testid="step-next"]').trigger('click');
    expect(w.find('[data-testid="step-text"]').text()).toBe('Sum: Σ 4 products = 2.0000');
    await w.find('[data-testid="step-next"]').trigger('click');
    expect(w.find('[data-testid="step-text"]').text()).toContain('= -0.2500');
    expect(w.find('[data-testid="step-check"]').exists()).toBe(false);
    await w.find('[data-testid="step-next"]').trigger('click');
    expect(w.find('[data-testid="step-text"]').text()).toBe('Activation: relu(-0.2500) = 0.0000 (conv_relu)');
    expect(w.find('[data-testid="step-check"]').text()).toBe('Final value 0.0000 = the engine’s value 0.0000');
    expect(w.find('[data-testid="step-next"]').attributes('disabled')).toBeDefined();
  });

  it('Play advances on a timer and stops at the end; ←/→ and Home move by keyboard', async () => {
    const w = mount(StepThrough, { props: { inspection: inspection(), intervalMs: 100 } });
    await w.find('[data-testid="step-play"]').trigger('click');
    expect(w.find('[data-testid="step-play"]').attributes('aria-pressed')).toBe('true');
    await vi.advanceTimersByTimeAsync(250);
    expect(current(w)).toBe('Sum');
    await vi.advanceTimersByTimeAsync(1000);
    expect(current(w)).toBe('Activation');
    expect(w.find('[data-testid="step-play"]').text()).toBe('Play');
    const region = w.find('[data-testid="step-through"]');
    expect(region.attributes('tabindex')).toBe('0');
    await region.trigger('keydown', { key: 'ArrowLeft' });
    expect(current(w)).toBe('+ Bias');
    await region.trigger('keydown', { key: 'Home' });
    expect(current(w)).toBe('Input patch');
    await region.trigger('keydown', { key: 'ArrowRight' });
    expect(current(w)).toBe('Products');
  });

  it('a dense unit lists its largest products instead of a grid', async () => {
    const r = inspection();
    r.op = 'dense';
    r.patch = {
      layer: 'flatten',
      rows: 1,
      cols: 3,
      channels: [-1],
      top: 0,
      left: 0,
      step: [1, 1],
      values: Float32Array.of(1, 2, 3),
      cells: new Uint8Array(3),
      products: Float32Array.of(0.5, -4, 1.5),
    };
    r.kernels = [{ inputChannel: -1, weights: Float32Array.of(0.5, -2, 0.5), norm: 1 }];
    const w = mount(StepThrough, { props: { inspection: r } });
    expect(w.find('[data-testid="step-text"]').text()).toContain('the 3 inputs of flatten');
    await w.find('[data-testid="step-next"]').trigger('click');
    const rows = w.findAll('[data-testid="step-top"] tr').map((t) => t.text());
    expect(rows).toEqual([
      'input 12.0000 × -2.0000= -4.0000',
      'input 23.0000 × 0.5000= 1.5000',
      'input 01.0000 × 0.5000= 0.5000',
    ]);
  });
});
