/**
 * From decoded pixels to the model's input: resize policy (center-crop / letterbox / stretch), bilinear
 * sampling, alpha composited on white, channel order and value range from the model's `Preprocess`.
 * Pure TypeScript over typed arrays, identical on every backend, so the same image gives the same
 * input tensor under webgl, wasm and cpu.
 */
import type { Preprocess, ResizePolicy } from '../../../common/engine-protocol';

/** Decoded pixels: RGBA, 8 bits per channel, straight (not premultiplied) alpha, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** The model input and its preview. */
export interface PreparedInput {
  /** NHWC values without the batch axis, H × W × channels, normalised per the model's Preprocess. */
  values: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** The resized image the model sees (before normalisation), RGBA at input size, for the UI. */
  preview: Uint8ClampedArray;
}

/**
 * Where the image lands in the input: `src` is the rectangle of source pixel centres sampled
 * (x0, y0, w, h in source pixels), `dst` the rectangle of the input it fills; outside `dst` is padding.
 * With `halfPixel` (torchvision's crop), `src` is instead the window's edges in continuous coordinates and each
 * input pixel samples the source at its own centre (PIL / PyTorch bilinear's half-pixel rule).
 */
export interface ResizeGeometry {
  src: [number, number, number, number];
  dst: [number, number, number, number];
  halfPixel?: boolean;
}

/** The value letterbox bars get (black), before normalisation. */
export const LETTERBOX_FILL = 0;

/**
 * Geometry of each resize policy for a `w`×`h` image into an `outW`×`outH` input. `cropFraction` (center-crop
 * only) is torchvision's Resize(R) + CenterCrop(S) as one window: the crop's shorter side is cropFraction (= S / R)
 * of the image's shorter side, its aspect the input's, centred — then resized to the input.
 */
export function resizeGeometry(
  w: number,
  h: number,
  outW: number,
  outH: number,
  policy: ResizePolicy,
  cropFraction?: number,
): ResizeGeometry {
  if (policy === 'stretch') return { src: [0, 0, w, h], dst: [0, 0, outW, outH] };
  if (policy === 'center-crop' && cropFraction !== undefined && cropFraction > 0 && cropFraction <= 1) {
    // torchvision: Resize(R) scales the shorter side to R (the longer to int(R · long / short)), CenterCrop(S)
    // takes the S×S' window at round((R − S) / 2) — Python's round, half to even — of the resized image.
    const R = Math.round(Math.min(outW, outH) / cropFraction);
    const [rw, rh] = w <= h ? [R, Math.floor((R * h) / w)] : [Math.floor((R * w) / h), R];
    const sx = rw / w;
    const sy = rh / h;
    const cw = Math.min(outW, rw);
    const ch = Math.min(outH, rh);
    const left = roundHalfEven((rw - cw) / 2);
    const top = roundHalfEven((rh - ch) / 2);
    // Where the window is wider than the resized image (an input more elongated than the photo), it is clipped.
    const dx = Math.floor((outW - cw) / 2);
    const dy = Math.floor((outH - ch) / 2);
    return { src: [left / sx, top / sy, cw / sx, ch / sy], dst: [dx, dy, cw, ch], halfPixel: true };
  }
  if (policy === 'center-crop') {
    // Scale so the image covers the input, then crop the middle.
    const s = Math.max(outW / w, outH / h);
    const cw = Math.min(w, outW / s);
    const ch = Math.min(h, outH / s);
    return { src: [(w - cw) / 2, (h - ch) / 2, cw, ch], dst: [0, 0, outW, outH] };
  }
  // Letterbox: scale so the whole image fits, centre it, pad the rest.
  const s = Math.min(outW / w, outH / h);
  const dw = Math.max(1, Math.min(outW, Math.round(w * s)));
  const dh = Math.max(1, Math.min(outH, Math.round(h * s)));
  const dx = Math.floor((outW - dw) / 2);
  const dy = Math.floor((outH - dh) / 2);
  return { src: [0, 0, w, h], dst: [dx, dy, dw, dh] };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
}

/** Source coordinate of each output pixel with half-pixel centres: x = x0 + (o + ½)·len/out − ½, clamped. */
function halfPixelMap(
  src0: number,
  srcLen: number,
  dstLen: number,
  limit: number,
): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const f = new Float32Array(dstLen);
  const scale = srcLen / dstLen;
  for (let o = 0; o < dstLen; o++) {
    const x = Math.min(limit - 1, Math.max(0, src0 + (o + 0.5) * scale - 0.5));
    const a = Math.floor(x);
    i0[o] = a;
    i1[o] = Math.min(limit - 1, a + 1);
    f[o] = x - a;
  }
  return { i0, i1, f };
}

/**
 * Source coordinate of each output pixel along one axis, the way tf.image.resizeBilinear with
 * alignCorners=true maps it (nsfwjs resizes that way): the first and last output pixels sit on the
 * centres of the first and last source pixels of the sampled span.
 */
function axisMap(
  src0: number,
  srcLen: number,
  dstLen: number,
  limit: number,
): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const f = new Float32Array(dstLen);
  const span = Math.max(0, srcLen - 1);
  const scale = dstLen > 1 ? span / (dstLen - 1) : 0;
  const base = dstLen > 1 ? src0 : src0 + span / 2;
  for (let o = 0; o < dstLen; o++) {
    const x = Math.min(limit - 1, Math.max(0, base + o * scale));
    const a = Math.floor(x);
    i0[o] = a;
    i1[o] = Math.min(limit - 1, a + 1);
    f[o] = x - a;
  }
  return { i0, i1, f };
}

/**
 * Resizes `img` into the model's input per `pre` (and the request's resize policy), composites alpha on
 * white, and normalises: value = (pixel / 255 * scale + offset - mean[c]) / std[c].
 */
export function prepareInput(img: RgbaImage, pre: Preprocess, policy: ResizePolicy = pre.resize): PreparedInput {
  const [outH, outW] = pre.inputSize;
  const { src, dst, halfPixel } = resizeGeometry(img.width, img.height, outW, outH, policy, pre.cropFraction);
  const map = halfPixel ? halfPixelMap : axisMap;
  const xs = map(src[0], src[2], dst[2], img.width);
  const ys = map(src[1], src[3], dst[3], img.height);
  const channels = pre.channels ?? 3;
  const order = pre.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const mul = order.map((_, c) => pre.scale / 255 / pre.std[c]);
  const add = order.map((_, c) => (pre.offset - pre.mean[c]) / pre.std[c]);
  const values = new Float32Array(outW * outH * channels);
  const preview = new Uint8ClampedArray(outW * outH * 4);
  /** The output pixel's RGB (0–255, float32 as interpolated), normalised into `values` and shown in `preview`. */
  const rgb = new Float32Array(3);
  const put = (p: number) => {
    if (channels === 1) {
      const g = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      values[p] = g * mul[0] + add[0];
      preview[p * 4] = preview[p * 4 + 1] = preview[p * 4 + 2] = g;
    } else {
      for (let c = 0; c < 3; c++) {
        const v = rgb[order[c]];
        values[p * 3 + c] = v * mul[c] + add[c];
        preview[p * 4 + order[c]] = v; // RGB order whatever the model's; clamped and rounded by Uint8ClampedArray
      }
    }
    preview[p * 4 + 3] = 255;
  };
  if (dst[0] > 0 || dst[1] > 0 || dst[2] < outW || dst[3] < outH) {
    // Letterboxed: the bars first, the picture over them.
    rgb.fill(LETTERBOX_FILL);
    for (let p = 0; p < outW * outH; p++) put(p);
  }
  const d = img.data;
  const W4 = img.width * 4;
  // Alpha is composited on white: c' = a·c + (1 − a)·255, per tap, before interpolation.
  const tap = (i: number, k: number) => {
    const a = d[i + 3];
    return a === 255 ? d[i + k] : (d[i + k] * a + 255 * (255 - a)) / 255;
  };
  for (let oy = 0; oy < dst[3]; oy++) {
    const r0 = ys.i0[oy] * W4,
      r1 = ys.i1[oy] * W4,
      fy = ys.f[oy];
    for (let ox = 0; ox < dst[2]; ox++) {
      const c0 = xs.i0[ox] * 4,
        c1 = xs.i1[ox] * 4,
        fx = xs.f[ox];
      const i00 = r0 + c0,
        i10 = r0 + c1,
        i01 = r1 + c0,
        i11 = r1 + c1;
      // The four taps opaque (almost every photo): their colours as they are.
      const opaque = (d[i00 + 3] & d[i10 + 3] & d[i01 + 3] & d[i11 + 3]) === 255;
      for (let k = 0; k < 3; k++) {
        const t00 = opaque ? d[i00 + k] : tap(i00, k);
        const t10 = opaque ? d[i10 + k] : tap(i10, k);
        const t01 = opaque ? d[i01 + k] : tap(i01, k);
        const t11 = opaque ? d[i11 + k] : tap(i11, k);
        const top = t00 + (t10 - t00) * fx;
        const bottom = t01 + (t11 - t01) * fx;
        rgb[k] = top + (bottom - top) * fy;
      }
      put((dst[1] + oy) * outW + dst[0] + ox);
    }
  }
  return { values, height: outH, width: outW, channels, preview };
}

/**
 * Applies an EXIF orientation (1..8) to RGBA pixels, for decoders that do not (the Node path; in the
 * browser createImageBitmap does it with imageOrientation: 'from-image').
 */
export function applyOrientation(img: RgbaImage, orientation: number): RgbaImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8ClampedArray(ow * oh * 4);
  // One 32-bit word per pixel; copy first where the bytes are not 4-aligned (Node Buffers may not be).
  const aligned = data.byteOffset % 4 === 0 ? data : new Uint8ClampedArray(data);
  const src = new Uint32Array(aligned.buffer, aligned.byteOffset, w * h);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let nx: number, ny: number;
      switch (orientation) {
        case 2: [nx, ny] = [w - 1 - x, y]; break; // prettier-ignore
        case 3: [nx, ny] = [w - 1 - x, h - 1 - y]; break; // prettier-ignore
        case 4: [nx, ny] = [x, h - 1 - y]; break; // prettier-ignore
        case 5: [nx, ny] = [y, x]; break; // prettier-ignore
        case 6: [nx, ny] = [h - 1 - y, x]; break; // prettier-ignore
        case 7: [nx, ny] = [h - 1 - y, w - 1 - x]; break; // prettier-ignore
        default:
          [nx, ny] = [y, w - 1 - x]; // 8
      }
      dst[ny * ow + nx] = src[y * w + x];
    }
  }
  return { width: ow, height: oh, data: out };
}
