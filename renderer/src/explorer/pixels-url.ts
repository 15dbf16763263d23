/**
 * RGBA pixels (the engine's preview of a model's input) as a PNG data URL for an <img> under the heat-map
 * overlays; undefined where there is no DOM canvas or it cannot draw (the map alone still says where to look).
 */
export function pixelsToDataUrl(
  p: { width: number; height: number; data: ArrayLike<number> } | null,
): string | undefined {
  if (!p || typeof document === 'undefined') return undefined;
  try {
    const c = document.createElement('canvas');
    c.width = p.width;
    c.height = p.height;
    const ctx = c.getContext('2d');
    if (!ctx) return undefined;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(p.data), p.width, p.height), 0, 0);
    return c.toDataURL();
  } catch {
    return undefined;
  }
}
