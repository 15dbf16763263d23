/**
 * Sizing of a layer's array texture: one R8 texel per activation value, channel c in array layer c.
 * When a layer has more channels than the GPU allows array layers (WebGL2 guarantees only 256), several
 * channels share one array layer as a gx × gy grid of cells. Pure functions, testable without GL.
 */

/** GPU limits that shape the texture. */
export interface TextureLimits {
  /** MAX_ARRAY_TEXTURE_LAYERS */
  maxLayers: number;
  /** MAX_TEXTURE_SIZE (width and height of one array layer) */
  maxSize: number;
}

/** How a C × H × W frame is stored. */
export interface ArrayTexturePlan {
  width: number;
  height: number;
  depth: number;
  /** Cells (channels) per array layer across and down; 1 × 1 when every channel has its own layer. */
  gx: number;
  gy: number;
  /** width · height · depth: the bytes the texture holds (R8). */
  bytes: number;
}

/** Plans the array texture of a frame with `channels` maps of `height` × `width`. Throws if it cannot fit. */
export function planArrayTexture(
  height: number,
  width: number,
  channels: number,
  limits: TextureLimits,
): ArrayTexturePlan {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`layer texture: ${name} must be a positive integer, got ${v}`);
  }
  if (height > limits.maxSize || width > limits.maxSize) {
    throw new Error(
      `layer texture: a ${height}×${width} feature map exceeds this GPU's largest texture (${limits.maxSize})`,
    );
  }
  if (channels <= limits.maxLayers)
    return { width, height, depth: channels, gx: 1, gy: 1, bytes: width * height * channels };
  const perLayer = Math.ceil(channels / limits.maxLayers);
  // As square a grid as the size limit allows, so the padding in the last layer stays small.
  const maxGx = Math.floor(limits.maxSize / width);
  const maxGy = Math.floor(limits.maxSize / height);
  let gx = Math.min(maxGx, Math.ceil(Math.sqrt(perLayer)));
  let gy = Math.ceil(perLayer / gx);
  if (gy > maxGy) {
    gy = maxGy;
    gx = Math.ceil(perLayer / gy);
  }
  if (gx > maxGx || gx * gy < perLayer) {
    throw new Error(
      `layer texture: ${channels} channels of ${height}×${width} do not fit in ${limits.maxLayers} layers of ${limits.maxSize}² texels`,
    );
  }
  const depth = Math.ceil(channels / (gx * gy));
  return { width: width * gx, height: height * gy, depth, gx, gy, bytes: width * gx * height * gy * depth };
}

/**
 * Rearranges channel-major C × H × W bytes into the plan's layers of cells. Returns `data` itself when
 * the plan is one channel per layer (no copy).
 */
export function packChannels(
  data: Uint8Array,
  height: number,
  width: number,
  channels: number,
  plan: ArrayTexturePlan,
): Uint8Array {
  if (plan.gx === 1 && plan.gy === 1) return data;
  const out = new Uint8Array(plan.bytes);
  const cells = plan.gx * plan.gy;
  const layerBytes = plan.width * plan.height;
  for (let c = 0; c < channels; c++) {
    const layer = Math.floor(c / cells);
    const cell = c % cells;
    const ox = (cell % plan.gx) * width;
    const oy = Math.floor(cell / plan.gx) * height;
    const src = c * height * width;
    for (let y = 0; y < height; y++) {
      const dst = layer * layerBytes + (oy + y) * plan.width + ox;
      out.set(data.subarray(src + y * width, src + (y + 1) * width), dst);
    }
  }
  return out;
}

/** Where channel `c` lives in a plan: array layer and cell origin in texels (inverse of `packChannels`). */
export function channelCell(
  c: number,
  plan: ArrayTexturePlan,
  height: number,
  width: number,
): { layer: number; x: number; y: number } {
  const cells = plan.gx * plan.gy;
  const cell = c % cells;
  return { layer: Math.floor(c / cells), x: (cell % plan.gx) * width, y: Math.floor(cell / plan.gx) * height };
}
