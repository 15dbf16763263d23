import { describe, expect, it } from 'vitest';
import type { LayerFrame } from '../../common/engine-protocol';
import {
  channelLut,
  channelMeans,
  dequantize,
  gridFor,
  layerRange,
  paintGrid,
  resolveColorMap,
} from '../../renderer/src/explorer/channel-colors';
import { PALETTES } from '../../renderer/src/explorer/palettes';

/** A 2×2×2 frame: channel 0 in [0, 2], channel 1 in [-1, 3]. */
function frame(): LayerFrame {
  return {
    layerId: 'conv',
    index: 0,
    shape: [2, 2, 2],
    fullShape: [2, 2, 2],
    min: Float32Array.from([0, -1]),
    max: Float32Array.from([2, 3]),
    data: Uint8Array.from([0, 85, 170, 255, 0, 64, 191, 255]),
  };
}

describe('channel colours', () => {
  it('dequantizes with each channel’s own range', () => {
    const f = frame();
    expect(dequantize(f, 0, 255)).toBeCloseTo(2);
    expect(dequantize(f, 1, 0)).toBeCloseTo(-1);
    expect(dequantize(f, 1, 255)).toBeCloseTo(3);
  });

  it('picks the diverging map for signed layers in auto mode', () => {
    expect(resolveColorMap(frame(), 'auto')).toBe('diverging');
    const f = frame();
    f.min[1] = 0;
    expect(resolveColorMap(f, 'auto')).toBe('viridis');
    expect(resolveColorMap(frame(), 'viridis')).toBe('viridis');
  });

  it('maps zero to the middle of the diverging map and the extremes to its ends', () => {
    const lut = channelLut(frame(), 1, 'diverging', 'channel');
    // byte b → v = -1 + 4b/255; v = 0 at b ≈ 63.75; |max| = 3.
    expect(lut[64]).toBeGreaterThanOrEqual(127);
    expect(lut[64]).toBeLessThanOrEqual(129);
    expect(lut[255]).toBe(255);
    expect(lut[0]).toBe(Math.round((0.5 - 0.5 / 3) * 255));
  });

  it('per-layer normalisation shares one range across channels', () => {
    const f = frame();
    expect(layerRange(f)).toEqual({ min: -1, max: 3, absMax: 3 });
    const perChannel = channelLut(f, 0, 'viridis', 'channel');
    const perLayer = channelLut(f, 0, 'viridis', 'layer');
    expect(perChannel[255]).toBe(255);
    // channel 0 tops out at 2 of the layer's [-1, 3]: three quarters of the way.
    expect(perLayer[255]).toBe(Math.round(0.75 * 255));
  });

  it('computes channel means from the quantized bytes', () => {
    const m = channelMeans(frame());
    expect(m[0]).toBeCloseTo(1, 2);
    expect(m[1]).toBeCloseTo(-1 + (4 * (0 + 64 + 191 + 255)) / 4 / 255, 2);
  });

  it('lays channels out in a near-square grid and paints every pixel from the palette', () => {
    expect(gridFor(64, 8, 8)).toEqual({ cols: 8, rows: 8 });
    expect(gridFor(3, 224, 224)).toEqual({ cols: 2, rows: 2 });
    const f = frame();
    const img = paintGrid(f, [1, 0], 2, PALETTES.viridis, 'viridis', 'channel');
    expect(img.width).toBe(5);
    expect(img.height).toBe(2);
    // First tile is channel 1; its first byte 0 maps to the palette's first colour.
    expect([...img.pixels.slice(0, 3)]).toEqual([...PALETTES.viridis.slice(0, 3)]);
    // The gap column stays transparent.
    expect(img.pixels[2 * 4 + 3]).toBe(0);
  });

  it('builds 256-entry palettes that run dark-to-bright (viridis) and blue-to-red (diverging)', () => {
    expect(PALETTES.viridis.length).toBe(768);
    const lum = (p: Uint8Array, i: number) => 0.2126 * p[i * 3] + 0.7152 * p[i * 3 + 1] + 0.0722 * p[i * 3 + 2];
    for (let i = 16; i < 256; i += 16) expect(lum(PALETTES.viridis, i)).toBeGreaterThan(lum(PALETTES.viridis, i - 16));
    expect(PALETTES.diverging[2]).toBeGreaterThan(PALETTES.diverging[0]);
    expect(PALETTES.diverging[255 * 3]).toBeGreaterThan(PALETTES.diverging[255 * 3 + 2]);
  });
});
