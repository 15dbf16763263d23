/**
 * Getting the comparison out of the app: downloads (browser build; Electron shows the same download as a save
 * dialog), SVG charts rasterised to PNG, several images composed into one PNG. DOM only, no Vue.
 */

/** Saves `blob` under `fileName` through an <a download> click; the object URL is released afterwards. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The click starts the download asynchronously; revoking at once can cancel it in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A timestamp safe in file names: 2025-01-31T14-05-09. */
export function fileStamp(date: Date = new Date()): string {
  return date.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** `canvas.toBlob` as a promise; rejects instead of resolving null (a zero-sized or tainted canvas). */
export function canvasToPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png');
  });
}

/** Loads an image from a URL (blob: or data:, both allowed by the page's CSP). */
function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the chart could not be rasterised'));
    img.src = url;
  });
}

/**
 * Rasterises an inline <svg> (drawn with explicit colours, no CSS variables: a serialised SVG does not see the
 * page's stylesheet) into a canvas `scale` times its size.
 */
export async function svgToCanvas(svg: SVGSVGElement, scale = 2): Promise<HTMLCanvasElement> {
  const width = Number(svg.getAttribute('width')) || svg.viewBox.baseVal.width;
  const height = Number(svg.getAttribute('height')) || svg.viewBox.baseVal.height;
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  const text = new XMLSerializer().serializeToString(clone);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const img = await loadImage(url);
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas context');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** One tile of a composed image. */
export interface ComposeTile {
  source: CanvasImageSource & { width: number; height: number };
  /** Shown above the tile. */
  label: string;
  /** Colour of the label's marker (the model's series colour), optional. */
  color?: string;
}

/**
 * Lays tiles side by side in rows of `columns` (each scaled to `tileWidth`, keeping its aspect) with a label
 * above each, on `background`. Used for the panes' view and for the chart sheet.
 */
export function composeTiles(
  tiles: readonly ComposeTile[],
  opts: { columns: number; tileWidth: number; background: string; text: string; title?: string },
): HTMLCanvasElement {
  const pad = 12;
  const labelH = 22;
  const titleH = opts.title ? 28 : 0;
  const sizes = tiles.map((t) => ({
    w: opts.tileWidth,
    h: Math.round((opts.tileWidth * t.source.height) / Math.max(1, t.source.width)),
  }));
  const cols = Math.max(1, Math.min(opts.columns, tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const rowH = Array.from({ length: rows }, (_, r) =>
    Math.max(0, ...sizes.slice(r * cols, r * cols + cols).map((s) => s.h)),
  );
  const canvas = document.createElement('canvas');
  canvas.width = pad + cols * (opts.tileWidth + pad);
  canvas.height = titleH + pad + rowH.reduce((s, h) => s + h + labelH + pad, 0);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.fillStyle = opts.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.textBaseline = 'middle';
  if (opts.title) {
    ctx.fillStyle = opts.text;
    ctx.font = '600 16px system-ui, sans-serif';
    ctx.fillText(opts.title, pad, pad + 8);
  }
  let y = titleH + pad;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (i >= tiles.length) break;
      const x = pad + c * (opts.tileWidth + pad);
      const tile = tiles[i];
      let textX = x;
      if (tile.color) {
        ctx.fillStyle = tile.color;
        ctx.fillRect(x, y + labelH / 2 - 5, 10, 10);
        textX += 16;
      }
      ctx.fillStyle = opts.text;
      ctx.font = '13px system-ui, sans-serif';
      ctx.fillText(tile.label, textX, y + labelH / 2);
      ctx.drawImage(tile.source, x, y + labelH, sizes[i].w, sizes[i].h);
    }
    y += rowH[r] + labelH + pad;
  }
  return canvas;
}

/** Asks the user for files with the browser's picker; resolves null on cancel. */
export function pickFiles(accept: string, multiple: boolean): Promise<File[] | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.multiple = multiple;
    input.addEventListener('change', () => resolve(input.files && input.files.length ? [...input.files] : null));
    input.addEventListener('cancel', () => resolve(null));
    input.click();
  });
}
