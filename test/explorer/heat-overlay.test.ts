/**
 * HeatOverlay as a user sees it: the map drawn over the photo (palette by value, transparent at 0), the theoretical
 * box at its pixel coordinates with its part inside the image, and the 95 % share in words.
 */
import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import HeatOverlay from '../../renderer/src/explorer/components/HeatOverlay.vue';
import { PALETTES } from '../../renderer/src/explorer/palettes';

let drawn: Map<HTMLCanvasElement, ImageData>;
beforeEach(() => {
  drawn = new Map();
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
    return { putImageData: (img: ImageData) => drawn.set(this, img) } as unknown as CanvasRenderingContext2D;
  } as never);
});
afterEach(() => vi.restoreAllMocks());

/** The 5×5 two-conv all-ones pattern [1 2 3 2 1]ᵀ[1 2 3 2 1] on a 7×6 image, field rows −1..3, cols 1..5. */
function pattern() {
  const a = [1, 2, 3, 2, 1];
  const map = new Float32Array(7 * 6);
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++) if (i - 1 >= 0 && j + 1 < 6) map[(i - 1) * 6 + j + 1] = a[i] * a[j];
  return map;
}

describe('HeatOverlay', () => {
  it('draws the map over the photo: the peak in the palette’s top colour and opaque, zeros transparent', () => {
    const w = mount(HeatOverlay, {
      props: {
        map: pattern(),
        width: 6,
        height: 7,
        imageUrl: 'data:image/png;base64,AAAA',
        caption: 'Effective field of c2 #0 (0, 3)',
      },
    });
    expect(w.find('img.photo').attributes('src')).toBe('data:image/png;base64,AAAA');
    const canvas = w.find('canvas');
    expect(canvas.attributes('aria-label')).toBe('Effective field of c2 #0 (0, 3)');
    const img = drawn.get(canvas.element as HTMLCanvasElement)!;
    expect([img.width, img.height]).toEqual([6, 7]);
    const pal = PALETTES.viridis;
    // The peak (9) is at row 1, col 3.
    const peak = (1 * 6 + 3) * 4;
    expect([...img.data.slice(peak, peak + 4)]).toEqual([pal[765], pal[766], pal[767], 255]);
    // Pixel (0, 0) is outside the field: alpha 0.
    expect(img.data[3]).toBe(0);
    // Row 3, col 1 holds a_4 · a_0 = 1 · 1 = 1: t = 1 / 9, alpha 255 · √(1/9) = 85.
    const q = Math.round((1 / 9) * 255);
    const o = (3 * 6 + 1) * 4;
    expect([...img.data.slice(o, o + 4)]).toEqual([pal[q * 3], pal[q * 3 + 1], pal[q * 3 + 2], 85]);
  });

  it('outlines the theoretical field and its part inside the image, and states the 95 % share', () => {
    const w = mount(HeatOverlay, {
      props: {
        map: pattern(),
        width: 6,
        height: 7,
        box: { top: -1, left: 1, bottom: 3, right: 5 },
        share95: 0.84,
        pixels95: 21,
        caption: 'Effective field',
      },
    });
    const svg = w.find('[data-testid="heat-box"]');
    expect(svg.attributes('viewBox')).toBe('0 0 6 7');
    const field = svg.find('rect.field');
    expect(['x', 'y', 'width', 'height'].map((a) => field.attributes(a))).toEqual(['1', '-1', '5', '5']);
    const inside = svg.find('rect.inside');
    expect(['x', 'y', 'width', 'height'].map((a) => inside.attributes(a))).toEqual(['1', '0', '5', '4']);
    expect(w.find('[data-testid="heat-share"]').text()).toBe(
      '95 % of the gradient lies on 21 px: 84 % of the theoretical field (5×5).',
    );
  });

  it('says so when no gradient reaches the input; a Grad-CAM map has no box', () => {
    const dead = mount(HeatOverlay, {
      props: {
        map: new Float32Array(4),
        width: 2,
        height: 2,
        box: { top: 0, left: 0, bottom: 1, right: 1 },
        caption: 'x',
      },
    });
    expect(dead.find('[data-testid="heat-share"]').text()).toBe(
      'No gradient reaches the input (theoretical field 2×2).',
    );
    const cam = mount(HeatOverlay, {
      props: { map: Float32Array.of(0, 1, 0, 0), width: 2, height: 2, caption: 'Grad-CAM: tabby on out_relu' },
    });
    expect(cam.find('[data-testid="heat-box"]').exists()).toBe(false);
    expect(cam.find('[data-testid="heat-share"]').exists()).toBe(false);
    expect(cam.find('figcaption').text()).toBe('Grad-CAM: tabby on out_relu');
  });
});
