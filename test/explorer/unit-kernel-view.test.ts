/**
 * KernelView as a user sees it: one small image per input channel in the chosen order (by norm or by channel),
 * captions with each slice's norm, the bias, the RGB image of a first-layer kernel, and the pixels drawn on each
 * canvas (diverging colours on one symmetric scale: a slice's largest |w| at the palette's ends, 0 in the middle).
 */
import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import KernelView from '../../renderer/src/explorer/components/KernelView.vue';
import { PALETTES } from '../../renderer/src/explorer/palettes';
import type { UnitInspection } from '../../renderer/src/engine/unit-inspect';

/** A 3×3 conv over 3 input channels (norms by hand: in 0 = √9 = 3, in 1 = 1, in 2 = 2). */
function inspection(): UnitInspection {
  const w0 = Float32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1); // ‖w‖ = 3
  const w1 = Float32Array.of(0, 0, 0, 0, -1, 0, 0, 0, 0); // ‖w‖ = 1
  const w2 = Float32Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0); // ‖w‖ = 2
  const rgb = new Uint8ClampedArray(36).fill(128);
  return {
    layer: 'conv1',
    op: 'conv',
    channel: 4,
    y: 0,
    x: 0,
    kernelSize: [3, 3],
    strides: [1, 1],
    dilation: [1, 1],
    pad: [1, 1, 1, 1],
    kernels: [
      { inputChannel: 0, weights: w0, norm: 3 },
      { inputChannel: 1, weights: w1, norm: 1 },
      { inputChannel: 2, weights: w2, norm: 2 },
    ],
    rgb: { width: 3, height: 3, data: rgb },
    bias: 0.25,
    patch: {
      layer: 'image',
      rows: 3,
      cols: 3,
      channels: [0, 1, 2],
      top: -1,
      left: -1,
      step: [1, 1],
      values: new Float32Array(27),
      cells: new Uint8Array(9),
      products: new Float32Array(27),
    },
    stages: [{ layer: 'conv1', kind: 'sum', label: 'Σ 27 products = 0', value: 0, engine: 0 }],
    value: 0,
  };
}

let drawn: Map<HTMLCanvasElement, ImageData>;
beforeEach(() => {
  drawn = new Map();
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
    return { putImageData: (img: ImageData) => drawn.set(this, img) } as unknown as CanvasRenderingContext2D;
  } as never);
});
afterEach(() => vi.restoreAllMocks());

const captions = (w: ReturnType<typeof mount>) =>
  w.findAll('[data-testid="kernel-slice"] .caption').map((c) => c.text());

describe('KernelView', () => {
  it('lists the input channels by norm, largest first, and by channel on request', async () => {
    const w = mount(KernelView, { props: { inspection: inspection() } });
    expect(captions(w)).toEqual(['in 0 · ‖w‖ 3.000', 'in 2 · ‖w‖ 2.000', 'in 1 · ‖w‖ 1.000']);
    await w.find('input[value="channel"]').setValue();
    expect(captions(w)).toEqual(['in 0 · ‖w‖ 3.000', 'in 1 · ‖w‖ 1.000', 'in 2 · ‖w‖ 2.000']);
    expect(w.find('[data-testid="kernel-dims"]').text()).toBe('3×3 × 3 input channels');
    expect(w.find('[data-testid="kernel-bias"]').text()).toBe('bias 0.250');
    expect(w.find('[data-testid="kernel-scale"]').text()).toBe('scale ±2.000');
  });

  it('draws each slice on one symmetric scale: −max → palette start, 0 → middle, +max → end', async () => {
    const w = mount(KernelView, { props: { inspection: inspection() }, attachTo: document.body });
    await nextTick();
    const pal = PALETTES.diverging;
    const rgbAt = (q: number) => [pal[q * 3], pal[q * 3 + 1], pal[q * 3 + 2], 255];
    const slices = w.findAll('[data-testid="kernel-slice"]');
    // Sorted by norm: in 0 (all 1 = half of +max), in 2 (2 at the top-left = +max, zeros elsewhere), in 1.
    const img0 = drawn.get(slices[0].find('canvas').element as HTMLCanvasElement)!;
    expect([img0.width, img0.height]).toEqual([3, 3]);
    // (1 / 2 + 1) / 2 · 255 = 191.25 → 191.
    expect([...img0.data.slice(0, 4)]).toEqual(rgbAt(191));
    const img2 = drawn.get(slices[1].find('canvas').element as HTMLCanvasElement)!;
    expect([...img2.data.slice(0, 4)]).toEqual(rgbAt(255));
    // 0 → 127.5 → 128.
    expect([...img2.data.slice(4, 8)]).toEqual(rgbAt(128));
    // in 1: −1 at the centre = half of −max: (−0.5 + 1) / 2 · 255 = 63.75 → 64.
    const img1 = drawn.get(slices[2].find('canvas').element as HTMLCanvasElement)!;
    expect([...img1.data.slice(16, 20)]).toEqual(rgbAt(64));
    // The RGB kernel image is drawn as given.
    const rgb = drawn.get(w.find('[data-testid="kernel-rgb"] canvas').element as HTMLCanvasElement)!;
    expect([rgb.width, rgb.height, rgb.data[0]]).toEqual([3, 3, 128]);
    w.unmount();
  });

  it('shows a limited number of slices with a "Show all" button; no RGB image for a deeper layer', async () => {
    const r = inspection();
    r.rgb = null;
    const w = mount(KernelView, { props: { inspection: r, limit: 2 } });
    expect(w.findAll('[data-testid="kernel-slice"]')).toHaveLength(2);
    expect(w.find('[data-testid="kernel-rgb"]').exists()).toBe(false);
    await w.find('[data-testid="kernel-more"]').trigger('click');
    expect(w.findAll('[data-testid="kernel-slice"]')).toHaveLength(3);
    expect(w.find('[data-testid="kernel-more"]').exists()).toBe(false);
  });
});
