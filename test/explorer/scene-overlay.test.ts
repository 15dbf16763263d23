import { describe, expect, it } from 'vitest';
import type { LayerFrame } from '../../common/engine-protocol';
import { channelLut } from '../../renderer/src/explorer/channel-colors';
import { PALETTES } from '../../renderer/src/explorer/palettes';
import {
  COLOR_MAPS,
  colorMapFor,
  colorMapGradient,
  frameRange,
  mapPosition,
} from '../../renderer/src/explorer/scene/colormaps';
import { createFeatureScene } from '../../renderer/src/explorer/scene';
import { LabelOverlay, labelText, placeLabels, type LabelCandidate } from '../../renderer/src/explorer/scene/labels';
import type { BlockLayout } from '../../renderer/src/explorer/scene/layout';
import { THEMES, srgb } from '../../renderer/src/explorer/scene/theme';

/** Relative luminance of an sRGB byte triple. */
function luminance(r: number, g: number, b: number): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function frame(min: number[], max: number[]): LayerFrame {
  const c = min.length;
  return {
    layerId: 'l',
    index: 0,
    shape: [1, 2, c],
    fullShape: [1, 2, c],
    min: Float32Array.from(min),
    max: Float32Array.from(max),
    data: new Uint8Array(2 * c),
  };
}

describe('colour maps', () => {
  it('are the palettes of the 2D panels as 256 RGBA entries', () => {
    for (const name of ['viridis', 'diverging'] as const) {
      const lut = COLOR_MAPS[name].lut;
      expect(lut.length).toBe(1024);
      for (let i = 0; i < 256; i++) {
        expect([lut[i * 4], lut[i * 4 + 1], lut[i * 4 + 2], lut[i * 4 + 3]]).toEqual([
          PALETTES[name][i * 3],
          PALETTES[name][i * 3 + 1],
          PALETTES[name][i * 3 + 2],
          255,
        ]);
      }
    }
  });

  it('viridis gets steadily lighter; the diverging map is lightest at zero and cool/warm at its ends', () => {
    const v = COLOR_MAPS.viridis.lut;
    for (let i = 8; i < 256; i += 8)
      expect(luminance(v[i * 4], v[i * 4 + 1], v[i * 4 + 2])).toBeGreaterThan(
        luminance(v[(i - 8) * 4], v[(i - 8) * 4 + 1], v[(i - 8) * 4 + 2]),
      );
    const d = COLOR_MAPS.diverging.lut;
    const lum = (i: number) => luminance(d[i * 4], d[i * 4 + 1], d[i * 4 + 2]);
    expect(lum(128)).toBeGreaterThan(lum(0));
    expect(lum(128)).toBeGreaterThan(lum(255));
    expect(d[2]).toBeGreaterThan(d[0]); // blue end
    expect(d[255 * 4]).toBeGreaterThan(d[255 * 4 + 2]); // red end
    expect(colorMapGradient('viridis', 3)).toMatch(
      /^linear-gradient\(to right, rgb\(\d+, \d+, \d+\) 0\.0%, .* 100\.0%\)$/,
    );
  });

  it('chooses diverging for signed layers under auto, and the shader arithmetic matches the 2D panels', () => {
    const signed = frame([-2, 0], [1, 3]);
    const positive = frame([0, 0.5], [1, 3]);
    expect(colorMapFor(signed, 'auto')).toBe('diverging');
    expect(colorMapFor(positive, 'auto')).toBe('viridis');
    expect(colorMapFor(signed, 'viridis')).toBe('viridis');
    expect(frameRange(signed)).toEqual({ min: -2, max: 3 });
    // mapPosition is the tile shader's formula; channelLut is what the 2D panels draw.
    for (const f of [signed, positive])
      for (const map of ['viridis', 'diverging'] as const)
        for (const normalize of ['channel', 'layer'] as const)
          for (let c = 0; c < 2; c++) {
            const lut = channelLut(f, c, map, normalize);
            const range = normalize === 'layer' ? frameRange(f) : { min: f.min[c], max: f.max[c] };
            for (const b of [0, 1, 77, 128, 200, 255]) {
              const v = f.min[c] + (b / 255) * (f.max[c] - f.min[c]);
              expect(Math.round(mapPosition(v, range.min, range.max, map === 'diverging') * 255)).toBe(lut[b]);
            }
          }
  });
});

describe('labels', () => {
  it('declutter keeps the more important of overlapping labels and drops those off screen', () => {
    const c = (id: string, x: number, y: number, priority: number): LabelCandidate => ({
      id,
      x,
      y,
      width: 100,
      height: 30,
      priority,
    });
    const kept = placeLabels(
      [
        c('small', 200, 100, 5),
        c('big', 230, 110, 50),
        c('far', 600, 300, 1),
        c('off', 20, 100, 99),
        c('edge', 400, 10, 99),
      ],
      800,
      600,
    );
    expect([...kept].sort()).toEqual(['big', 'far']);
    // No two kept boxes overlap, whatever the input.
    const many: LabelCandidate[] = [];
    for (let i = 0; i < 300; i++) many.push(c(`l${i}`, 60 + ((i * 97) % 680), 40 + ((i * 53) % 540), (i * 31) % 17));
    const placed = many.filter((m) => placeLabels(many, 800, 600).has(m.id));
    expect(placed.length).toBeGreaterThan(10);
    for (let i = 0; i < placed.length; i++)
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i];
        const b = placed[j];
        expect(Math.abs(a.x - b.x) < 100 + 4 && Math.abs(a.y - b.y) < 30 + 4).toBe(false);
      }
  });

  it('say name, kind, shape and parameters', () => {
    expect(labelText({ name: 'conv2d_1', kind: 'conv', outputShape: [149, 149, 32], params: 864 })).toEqual({
      title: 'conv2d_1',
      detail: 'conv · 149×149×32 · 864 params',
    });
    expect(labelText({ name: 'pool', kind: 'globalpool', outputShape: [2048], params: 0 })).toEqual({
      title: 'pool',
      detail: 'globalpool · 2048',
    });
  });

  it('live in an overlay over the canvas, shown where placed and in the theme’s colours', () => {
    const host = document.createElement('div');
    const canvas = document.createElement('canvas');
    host.appendChild(canvas);
    document.body.appendChild(host);
    const overlay = new LabelOverlay(canvas, { text: '#111111', muted: '#555555', halo: '#ffffff', accent: '#2f6fde' });
    expect(overlay.root.parentElement).toBe(host);
    const b = (id: string): BlockLayout => ({
      id,
      index: 0,
      name: id,
      kind: 'conv',
      className: 'Conv2D',
      outputShape: [4, 4, 2],
      shape: [4, 4, 2],
      params: 10,
      width: 4,
      height: 4,
      depth: 2,
      x: 0,
      y: 0,
      row: 0,
      direction: 1,
      column: 0,
      lane: 0,
      scale: 1,
      vector: false,
      stageStart: false,
      layers: [id],
      tiles: 2,
    });
    overlay.setBlocks([b('a'), b('b')]);
    expect(overlay.root.querySelectorAll('.fme-scene-label')).toHaveLength(2);
    overlay.show(
      new Map([
        ['a', { x: 50, y: 60 }],
        ['b', { x: 10, y: 10 }],
      ]),
      new Set(['a']),
      new Map([['a', 'focus']]),
    );
    expect(overlay.shownIds()).toEqual(['a']);
    const el = overlay.root.querySelector<HTMLElement>('[data-layer-id="a"]')!;
    expect(el.textContent).toContain('conv · 4×4×2');
    expect(el.style.transform).toContain('translate(50px, 60px)');
    expect(el.style.border).toMatch(/#2f6fde|rgb\(47, 111, 222\)/);
    expect(el.style.color).toMatch(/#111111|rgb\(17, 17, 17\)/);
    overlay.dispose();
    expect(host.querySelector('.fme-scene-labels')).toBeNull();
  });
});

describe('scene creation', () => {
  it('says plainly when WebGL2 is missing (happy-dom has none)', () => {
    const canvas = document.createElement('canvas');
    expect(() => createFeatureScene(canvas, { theme: 'dark', colorMap: 'auto', normalize: 'channel' })).toThrow(
      /needs WebGL2/,
    );
  });

  it('rejects bad options with a message naming the option', () => {
    const canvas = document.createElement('canvas');
    expect(() =>
      createFeatureScene(canvas, { theme: 'pink' as never, colorMap: 'auto', normalize: 'channel' }),
    ).toThrow(/theme must be 'light' or 'dark', got pink/);
    expect(() => createFeatureScene(canvas, { theme: 'dark', colorMap: 'jet' as never, normalize: 'channel' })).toThrow(
      /colorMap/,
    );
  });

  it('has colours for both themes', () => {
    for (const t of ['light', 'dark'] as const)
      for (const v of Object.values(THEMES[t])) expect(srgb(v).every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(() => srgb('red')).toThrow(/#rrggbb/);
  });
});
