/**
 * Image format sniffing from the first bytes, and the pixel size read from the header, so an image too
 * large to decode safely is refused before any pixel memory is allocated. Pure functions, no DOM: the one
 * image sniffer of the app (main's file reader and the engine's decoder both use it).
 */
import { InputError } from './errors';

export { InputError };

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp' | 'avif' | 'unknown';

export interface ImageHeader {
  format: ImageFormat;
  /** Null where the header does not give them (or the format is not sniffed here). */
  width: number | null;
  height: number | null;
  /** EXIF orientation 1..8 (JPEG only; 1 when absent). */
  orientation: number;
}

/** The largest image the engine decodes (pixels); the limit of 50 megapixels. */
export const MAX_IMAGE_PIXELS = 50_000_000;

const u16be = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u16le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32be = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const i32le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));

function startsWith(b: Uint8Array, sig: number[]): boolean {
  return b.length >= sig.length && sig.every((v, i) => b[i] === v);
}

/** Reads the format and pixel size from an image's first bytes. Never throws; unknown → format 'unknown'. */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const none = (format: ImageFormat): ImageHeader => ({ format, width: null, height: null, orientation: 1 });
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return none('png');
    return { format: 'png', width: u32be(bytes, 16), height: u32be(bytes, 20), orientation: 1 };
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return readJpegHeader(bytes);
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) {
    if (bytes.length < 10) return none('gif');
    return { format: 'gif', width: u16le(bytes, 6), height: u16le(bytes, 8), orientation: 1 };
  }
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    if (bytes.length < 26) return none('bmp');
    const dib = i32le(bytes, 14);
    if (dib === 12) return { format: 'bmp', width: u16le(bytes, 18), height: u16le(bytes, 20), orientation: 1 };
    return { format: 'bmp', width: Math.abs(i32le(bytes, 18)), height: Math.abs(i32le(bytes, 22)), orientation: 1 };
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP')
    return readWebpHeader(bytes);
  if (bytes.length >= 12 && ascii(bytes, 4, 4) === 'ftyp' && /^(avif|avis|heic|heix|mif1)$/.test(ascii(bytes, 8, 4))) {
    return none('avif');
  }
  return none('unknown');
}

function readWebpHeader(b: Uint8Array): ImageHeader {
  const chunk = ascii(b, 12, 4);
  const h = (width: number, height: number): ImageHeader => ({ format: 'webp', width, height, orientation: 1 });
  if (chunk === 'VP8 ' && b.length >= 30) return h(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  if (chunk === 'VP8L' && b.length >= 25) {
    const b1 = b[22],
      b2 = b[23],
      b3 = b[24];
    return h(1 + (b[21] | ((b1 & 0x3f) << 8)), 1 + ((b1 >> 6) | (b2 << 2) | ((b3 & 0x0f) << 10)));
  }
  if (chunk === 'VP8X' && b.length >= 30) {
    return h(1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16)));
  }
  return { format: 'webp', width: null, height: null, orientation: 1 };
}

/** Walks JPEG markers up to the first SOFn; reads the EXIF orientation on the way. */
function readJpegHeader(b: Uint8Array): ImageHeader {
  let o = 2;
  let orientation = 1;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) break;
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = u16be(b, o + 2);
    if (len < 2) break;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (o + 9 > b.length) break;
      return { format: 'jpeg', height: u16be(b, o + 5), width: u16be(b, o + 7), orientation };
    }
    if (marker === 0xe1 && o + 10 <= b.length && ascii(b, o + 4, 6) === 'Exif\0\0') {
      orientation = readExifOrientation(b.subarray(o + 10, Math.min(b.length, o + 2 + len))) ?? orientation;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end before any frame header
    o += 2 + len;
  }
  return { format: 'jpeg', width: null, height: null, orientation };
}

/** EXIF orientation (tag 0x0112 of IFD0) from a TIFF block; null when absent or malformed. */
export function readExifOrientation(tiff: Uint8Array): number | null {
  if (tiff.length < 8) return null;
  const le = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!le && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return null;
  const r16 = (o: number) => (le ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1]);
  const r32 = (o: number) => (le ? (r16(o) | (r16(o + 2) << 16)) >>> 0 : ((r16(o) << 16) | r16(o + 2)) >>> 0);
  const ifd = r32(4);
  if (ifd + 2 > tiff.length) return null;
  const n = r16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > tiff.length) return null;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : null;
    }
  }
  return null;
}

/** What a file that is not an image looks like, for the error message. */
export function describeNonImage(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(8, bytes.length));
  if (head.startsWith('%PDF')) return 'a PDF document';
  if (head.startsWith('PK\u0003\u0004')) return 'a ZIP archive';
  if (startsWith(bytes, [0x89, 0x48, 0x44, 0x46])) return 'an HDF5 file (a Keras model?)';
  if (head.startsWith('<svg') || head.startsWith('<?xml'))
    return 'an XML/SVG document (vector images are not supported)';
  let text = true;
  for (let i = 0; i < Math.min(bytes.length, 512); i++) {
    const c = bytes[i];
    if (c < 9 || (c > 13 && c < 32 && c !== 27)) {
      text = false;
      break;
    }
  }
  if (text) {
    try {
      // Text is valid UTF-8 (`stream`: a character cut at the 512th byte is not an error).
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, 512), { stream: true });
    } catch {
      text = false;
    }
  }
  if (text) return head.trimStart().startsWith('{') ? 'a JSON file' : 'a text file';
  const hex = [...bytes.subarray(0, 4)].map((v) => v.toString(16).padStart(2, '0')).join(' ');
  return `unrecognised data (first bytes ${hex})`;
}

/**
 * Checks encoded image bytes before decoding: empty files, non-images and images over the pixel limit
 * are refused with a message naming the file. Returns the header for the decoder.
 */
export function checkImageBytes(name: string, bytes: Uint8Array, allowUnknown: boolean): ImageHeader {
  if (bytes.length === 0) throw new InputError(`${name}: the file is empty (0 bytes)`, name);
  const header = readImageHeader(bytes);
  if (header.format === 'unknown' && !allowUnknown) {
    throw new InputError(`${name}: not an image; it looks like ${describeNonImage(bytes)}`, name);
  }
  checkPixelCount(name, header.width, header.height);
  if (header.width === 0 || header.height === 0) {
    throw new InputError(`${name}: the ${header.format.toUpperCase()} header gives a size of 0 pixels`, name);
  }
  const cut = truncation(bytes, header.format);
  if (cut) throw new InputError(`${name}: the ${header.format.toUpperCase()} data is truncated (${cut})`, name);
  return header;
}

/**
 * Why the file looks cut short, or null. Decoders (Chromium's included) happily show the top part
 * of a truncated image; the engine refuses it instead, so a half-loaded file is never mistaken for
 * the picture.
 */
export function truncation(b: Uint8Array, format: ImageFormat): string | null {
  const find = (sig: number[], from: number) => {
    for (let i = b.length - sig.length; i >= from; i--) {
      let ok = true;
      for (let k = 0; k < sig.length && ok; k++) ok = b[i + k] === sig[k];
      if (ok) return i;
    }
    return -1;
  };
  if (format === 'png') {
    return find([0x49, 0x45, 0x4e, 0x44], Math.max(8, b.length - 4096)) < 0 ? 'no IEND chunk at the end' : null;
  }
  if (format === 'jpeg') {
    const sos = jpegScanStart(b);
    if (sos < 0) return 'no image data (no start-of-scan marker)';
    return find([0xff, 0xd9], sos) < 0 ? 'no end-of-image marker after the image data' : null;
  }
  if (format === 'webp') {
    const size = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0;
    return b.length < size + 8 ? `${b.length} of ${size + 8} bytes` : null;
  }
  if (format === 'bmp' && b.length >= 6) {
    const size = (b[2] | (b[3] << 8) | (b[4] << 16) | (b[5] << 24)) >>> 0;
    return size > 0 && b.length < size ? `${b.length} of ${size} bytes` : null;
  }
  return null;
}

/** Offset of the first start-of-scan marker of a JPEG, or -1. */
function jpegScanStart(b: Uint8Array): number {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return -1;
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    if (marker === 0xda) return o;
    const len = u16be(b, o + 2);
    if (len < 2) return -1;
    o += 2 + len;
  }
  return -1;
}

/** Refuses images over MAX_IMAGE_PIXELS (decoding them could exhaust memory). */
export function checkPixelCount(name: string, width: number | null, height: number | null): void {
  if (width == null || height == null) return;
  if (width * height > MAX_IMAGE_PIXELS) {
    const mp = ((width * height) / 1e6).toFixed(1);
    throw new InputError(
      `${name}: ${width}×${height} pixels (${mp} megapixels) is over the ${MAX_IMAGE_PIXELS / 1e6}-megapixel limit; ` +
        'scale it down first',
      name,
    );
  }
}

/** A canonical Huffman table (JPEG spec F.2.2.3): per code length, the first code, the last code, the first symbol's index. */
interface HuffTable {
  min: Int32Array;
  max: Int32Array;
  ptr: Int32Array;
  symbols: Uint8Array;
}

function buildHuff(counts: Uint8Array, symbols: Uint8Array): HuffTable {
  const min = new Int32Array(17);
  const max = new Int32Array(17).fill(-1);
  const ptr = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1];
    ptr[l] = k;
    min[l] = code;
    code += n;
    k += n;
    max[l] = n ? code - 1 : -1;
    code <<= 1;
  }
  return { min, max, ptr, symbols };
}

/**
 * Walks the entropy-coded data of a baseline (or extended sequential) JPEG's first scan without decoding
 * pixels: every block's Huffman codes are read and the coefficient bits skipped, so a file that ends (or
 * reaches a marker) before its last block is found even when an end-of-image marker was appended to it.
 * Browsers decode such a file without complaint and fill the missing part with grey. Returns why the data
 * is incomplete or corrupt, or null (also for progressive and arithmetic-coded files, which it does not walk).
 * Costs about one Huffman decode of the file (tens of ms per megapixel); run it off the UI thread.
 */
export function jpegScanProblem(b: Uint8Array): string | null {
  let o = 2;
  let frame: { width: number; height: number; comps: Map<number, { h: number; v: number }> } | null = null;
  const dc: (HuffTable | undefined)[] = [];
  const ac: (HuffTable | undefined)[] = [];
  let restart = 0;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) return null;
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = u16be(b, o + 2);
    const seg = o + 4;
    const end = o + 2 + len;
    if (len < 2 || end > b.length) return null; // header damage: the other checks and the decoder judge it
    if (m === 0xc0 || m === 0xc1) {
      const comps = new Map<number, { h: number; v: number }>();
      const n = b[seg + 5];
      for (let i = 0; i < n; i++)
        comps.set(b[seg + 6 + i * 3], { h: b[seg + 7 + i * 3] >> 4, v: b[seg + 7 + i * 3] & 15 });
      frame = { height: u16be(b, seg + 1), width: u16be(b, seg + 3), comps };
    } else if (m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return null; // progressive, lossless or arithmetic-coded: not walked here
    } else if (m === 0xc4) {
      let p = seg;
      while (p + 17 <= end) {
        const tc = b[p] >> 4;
        const th = b[p] & 15;
        const counts = b.subarray(p + 1, p + 17);
        const total = counts.reduce((s, c) => s + c, 0);
        const table = buildHuff(counts, b.subarray(p + 17, p + 17 + total));
        (tc === 0 ? dc : ac)[th] = table;
        p += 17 + total;
      }
    } else if (m === 0xdd) {
      restart = u16be(b, seg);
    } else if (m === 0xda) {
      if (!frame) return null;
      return walkScan(b, seg, end, frame, dc, ac, restart);
    } else if (m === 0xd9) {
      return null;
    }
    o = end;
  }
  return null;
}

function walkScan(
  b: Uint8Array,
  seg: number,
  dataStart: number,
  frame: { width: number; height: number; comps: Map<number, { h: number; v: number }> },
  dc: (HuffTable | undefined)[],
  ac: (HuffTable | undefined)[],
  restart: number,
): string | null {
  const ns = b[seg];
  const hmax = Math.max(...[...frame.comps.values()].map((c) => c.h));
  const vmax = Math.max(...[...frame.comps.values()].map((c) => c.v));
  const scan: { blocks: number; dc: HuffTable; ac: HuffTable }[] = [];
  for (let i = 0; i < ns; i++) {
    const c = frame.comps.get(b[seg + 1 + i * 2]);
    const t = b[seg + 2 + i * 2];
    const d = dc[t >> 4];
    const a = ac[t & 15];
    if (!c || !d || !a) return null;
    scan.push({ blocks: ns === 1 ? 1 : c.h * c.v, dc: d, ac: a });
  }
  let mcusX: number;
  let mcusY: number;
  if (ns === 1) {
    const c = frame.comps.get(b[seg + 1])!;
    mcusX = Math.ceil(Math.ceil((frame.width * c.h) / hmax) / 8);
    mcusY = Math.ceil(Math.ceil((frame.height * c.v) / vmax) / 8);
  } else {
    mcusX = Math.ceil(frame.width / (8 * hmax));
    mcusY = Math.ceil(frame.height / (8 * vmax));
  }
  const total = mcusX * mcusY;
  let pos = dataStart;
  let byte = 0;
  let bits = 0;
  let atMarker = false;
  const bit = (): number => {
    if (bits === 0) {
      if (pos >= b.length) return -1;
      const v = b[pos];
      if (v === 0xff) {
        const next = b[pos + 1];
        if (next !== 0x00) {
          atMarker = true;
          return -1;
        }
        pos += 2;
      } else pos++;
      byte = v;
      bits = 8;
    }
    bits--;
    return (byte >> bits) & 1;
  };
  const decode = (t: HuffTable): number => {
    let code = 0;
    for (let l = 1; l <= 16; l++) {
      const v = bit();
      if (v < 0) return -1;
      code = (code << 1) | v;
      if (t.max[l] >= code && code >= t.min[l] && t.max[l] >= 0) return t.symbols[t.ptr[l] + code - t.min[l]];
    }
    return -2;
  };
  const skip = (n: number): boolean => {
    for (let i = 0; i < n; i++) if (bit() < 0) return false;
    return true;
  };
  const stopped = (mcu: number, why: number) => {
    const row = Math.floor(mcu / mcusX);
    if (why === -2) return `the JPEG data is corrupt (an invalid Huffman code in block row ${row + 1} of ${mcusY})`;
    return `the image data stops at block row ${row + 1} of ${mcusY}`;
  };
  for (let mcu = 0; mcu < total; mcu++) {
    if (restart && mcu > 0 && mcu % restart === 0) {
      // Byte-align and step over the RSTn marker that must be here.
      bits = 0;
      atMarker = false;
      while (pos < b.length && b[pos] === 0xff && b[pos + 1] === 0xff) pos++;
      if (b[pos] === 0xff && b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7) pos += 2;
      else return stopped(mcu, -1);
    }
    for (const c of scan) {
      for (let k = 0; k < c.blocks; k++) {
        const s = decode(c.dc);
        if (s < 0 || !skip(s)) return stopped(mcu, s === -2 ? -2 : -1);
        for (let i = 1; i < 64;) {
          const rs = decode(c.ac);
          if (rs < 0) return stopped(mcu, rs);
          const r = rs >> 4;
          const size = rs & 15;
          if (size === 0) {
            if (r !== 15) break;
            i += 16;
            continue;
          }
          if (!skip(size)) return stopped(mcu, -1);
          i += r + 1;
        }
      }
    }
  }
  void atMarker;
  return null;
}
