/**
 * The WebGL path of activation extraction (DESIGN.md "Measured facts"): reading float32 activations
 * back is the bottleneck on a real GPU, so each layer is quantized and packed on the GPU and only one
 * byte per value crosses to JS.
 *
 * Per layer, right after tfjs computed it:
 *   1. `dataToGPU()` gives the output as a dense float texture (texel i = values 4i..4i+3, NHWC order);
 *   2. a "partial" shader computes per-channel min/max and zero count over chunks of each channel (after
 *      optional average pooling down to maxSide), a "reduce" shader folds the chunks into one min/max/count
 *      per channel, written into a float stats atlas (the count is the frame's `zeros` at full resolution);
 *   3. a "quantize" shader writes the layer's bytes, channel-major (C × h × w), into one RGBA8 atlas,
 *      layers back to back.
 * Layers are read back in chunks (the first layer alone, so the first frame is early): one
 * `readPixels` of the chunk's atlas rows into a PIXEL_PACK_BUFFER, one for its stats rows, a fence;
 * once the fence has signalled, `getBufferSubData` copies each layer straight into its own
 * Uint8Array (which the server then transfers). Frames are emitted strictly in layer order.
 *
 * tfjs's GL state is saved and restored around every use (framebuffer, viewport, scissor, face
 * culling, VAO, texture units, pack buffer): tfjs leaves scissor test and culling enabled and expects
 * its framebuffer bound. Our textures use NEAREST filtering (else texelFetch reads zeros).
 */
import * as tf from '@tensorflow/tfjs';
import { webglContext, webglTexture } from './tfjs-private';
import type { LayerFrame } from '../../../common/engine-protocol';
import { frameOf, frameShape, pooledSize, quantizeNHWC } from './quantize';
import type { LayerOutput } from './runner';

/** Thrown when the WebGL context is lost during a pass; the engine falls back to wasm and runs the pass again. */
export class ContextLostError extends Error {
  constructor() {
    super('the WebGL context was lost');
    this.name = 'ContextLostError';
  }
}

/** Whether this backend can do GPU extraction; the GL context when it can. */
export type GpuSupport =
  { ok: true; gl: WebGL2RenderingContext; renderer: string; software: boolean } | { ok: false; reason: string };

/** Checks the current tfjs backend is WebGL2 with renderable float32 textures. */
export function gpuExtractionSupported(): GpuSupport {
  if (tf.getBackend() !== 'webgl') return { ok: false, reason: 'the backend is not webgl' };
  const gl = webglContext();
  if (!gl) return { ok: false, reason: 'no WebGL context' };
  if (tf.env().getNumber('WEBGL_VERSION') !== 2) return { ok: false, reason: 'WebGL2 is not available (WebGL1 only)' };
  if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') || !gl.getExtension('EXT_color_buffer_float')) {
    return { ok: false, reason: 'float32 render targets are not supported' };
  }
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return { ok: true, gl, renderer, software: /swiftshader|llvmpipe|software|softpipe/i.test(renderer) };
}

const VERT = `#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

/** Reading one (optionally average-pooled) value of the source layer, shared by two shaders. */
const FETCH = `
uniform highp sampler2D u_src;
uniform int u_srcW;
uniform int u_H, u_W, u_C, u_f, u_h, u_w;
float valueAt(int i) {
  int t = i >> 2;
  vec4 v = texelFetch(u_src, ivec2(t % u_srcW, t / u_srcW), 0);
  return v[i & 3];
}
float pooled(int c, int py, int px) {
  if (u_f == 1) return valueAt((py * u_W + px) * u_C + c);
  int y0 = py * u_f, x0 = px * u_f;
  int y1 = min(u_H, y0 + u_f), x1 = min(u_W, x0 + u_f);
  float s = 0.0;
  for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) s += valueAt((y * u_W + x) * u_C + c);
  return s / float((y1 - y0) * (x1 - x0));
}`;

const HEAD = `#version 300 es
precision highp float;
precision highp int;
out vec4 o;`;

/**
 * One fragment per (chunk k, channel c): min/max over the chunk's pooled values, and how many of them are exactly 0
 * (−0 included, as on the CPU): the layer's zero count at full resolution (u_f = 1), unused for a pooled overview.
 * A count is a float: exact while a channel has at most 2^24 values.
 */
const PARTIAL = `${HEAD}${FETCH}
uniform int u_chunk;
void main() {
  int k = int(gl_FragCoord.x), c = int(gl_FragCoord.y);
  int hw = u_h * u_w;
  int q0 = k * u_chunk, q1 = min(hw, q0 + u_chunk);
  float lo = 3.0e38, hi = -3.0e38, zeros = 0.0;
  for (int q = q0; q < q1; q++) {
    float v = pooled(c, q / u_w, q - (q / u_w) * u_w);
    lo = min(lo, v);
    hi = max(hi, v);
    if (v == 0.0) zeros += 1.0;
  }
  o = vec4(lo, hi, zeros, 0.0);
}`;

/** One fragment per channel, written into the stats atlas: min/max and zero count over the channel's chunks. */
const REDUCE = `${HEAD}
uniform highp sampler2D u_part;
uniform int u_P, u_C, u_statsW, u_row0;
void main() {
  ivec2 fc = ivec2(gl_FragCoord.xy);
  int c = (fc.y - u_row0) * u_statsW + fc.x;
  if (c >= u_C) { o = vec4(0.0); return; }
  float lo = 3.0e38, hi = -3.0e38, zeros = 0.0;
  for (int k = 0; k < u_P; k++) {
    vec4 v = texelFetch(u_part, ivec2(k, c), 0);
    lo = min(lo, v.x);
    hi = max(hi, v.y);
    zeros += v.z;
  }
  o = vec4(lo, hi, zeros, 0.0);
}`;

/** One fragment per atlas texel: 4 consecutive bytes of the layer's channel-major frame. */
const QUANTIZE = `${HEAD}${FETCH}
uniform highp sampler2D u_stats;
uniform int u_atlasW, u_start, u_nTex, u_n, u_statsW, u_row0;
void main() {
  ivec2 fc = ivec2(gl_FragCoord.xy);
  int t = fc.y * u_atlasW + fc.x - u_start;
  if (t < 0 || t >= u_nTex) discard;
  int hw = u_h * u_w;
  vec4 r = vec4(0.0);
  for (int j = 0; j < 4; j++) {
    int q = t * 4 + j;
    if (q >= u_n) break;
    int c = q / hw;
    int p = q - c * hw;
    float v = pooled(c, p / u_w, p - (p / u_w) * u_w);
    int si = u_row0 * u_statsW + c;
    vec4 s = texelFetch(u_stats, ivec2(si % u_statsW, si / u_statsW), 0);
    r[j] = s.y > s.x ? clamp((v - s.x) / (s.y - s.x), 0.0, 1.0) : 0.0;
  }
  o = r;
}`;

interface Program {
  program: WebGLProgram;
  loc: Map<string, WebGLUniformLocation | null>;
}

/** A layer waiting for its bytes: either in a GPU chunk or already quantized on the CPU. */
interface Entry {
  out: { layerId: string; index: number; fullShape: number[] };
  shape: [number, number, number];
  /** GPU: byte offsets in the atlas / stats pack buffers. */
  atlasByte?: number;
  statsByte?: number;
  /** Full resolution: the frame carries the zero count from the stats (a pooled overview's values are averages). */
  countsZeros?: boolean;
  chunk?: Chunk;
  /** CPU fallback: the finished frame. */
  frame?: LayerFrame;
}

interface Chunk {
  fence: WebGLSync | null;
  done: boolean;
}

const ATLAS_W = 4096;
const STATS_W = 1024;
/** Flush a readback chunk once it holds this many bytes (or layers); the first layer goes alone. */
const CHUNK_BYTES = 1 << 20;
const CHUNK_LAYERS = 24;

export class GpuExtractor {
  private readonly gl: WebGL2RenderingContext;
  private readonly atlasH: number;
  private readonly statsH: number;
  private atlas!: WebGLTexture;
  private stats!: WebGLTexture;
  private partial: WebGLTexture | null = null;
  private partialSize: [number, number] = [0, 0];
  private fboAtlas!: WebGLFramebuffer;
  private fboStats!: WebGLFramebuffer;
  private fboPartial!: WebGLFramebuffer;
  private pboAtlas!: WebGLBuffer;
  private pboStats!: WebGLBuffer;
  private vao!: WebGLVertexArrayObject;
  private progPartial!: Program;
  private progReduce!: Program;
  private progQuantize!: Program;
  private readonly maxTex: number;
  /** Next free texel of the atlas, next free row of the stats atlas. */
  private cursor = 0;
  private statsRow = 0;
  /** Entries not yet emitted, in layer order; the open chunk's entries are at the end. */
  private queue: Entry[] = [];
  private open: {
    chunk: Chunk;
    firstTexel: number;
    endTexel: number;
    firstRow: number;
    endRow: number;
    bytes: number;
    layers: number;
  } | null = null;
  private emit: ((f: LayerFrame) => void) | null = null;
  /** Layers queued on the GPU in this pass (the first is read back alone, for an early first frame). */
  private pushed = 0;

  /** `takeBuffer`: a recycled frame buffer of exactly that many bytes, when the engine has one. */
  constructor(
    gl: WebGL2RenderingContext,
    private readonly takeBuffer: (bytes: number) => Uint8Array | undefined = () => undefined,
  ) {
    this.gl = gl;
    this.maxTex = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    this.atlasH = Math.min(this.maxTex, 2048);
    this.statsH = Math.min(this.maxTex, 512);
    this.withState(() => this.create());
  }

  private create(): void {
    const gl = this.gl;
    const tex = (w: number, h: number, format: number) => {
      const t = gl.createTexture()!;
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.texStorage2D(gl.TEXTURE_2D, 1, format, w, h);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      return t;
    };
    const fbo = (t: WebGLTexture) => {
      const f = gl.createFramebuffer()!;
      gl.bindFramebuffer(gl.FRAMEBUFFER, f);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t, 0);
      const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
      if (status !== gl.FRAMEBUFFER_COMPLETE)
        throw new Error(`extraction framebuffer incomplete (0x${status.toString(16)})`);
      return f;
    };
    this.atlas = tex(ATLAS_W, this.atlasH, gl.RGBA8);
    this.stats = tex(STATS_W, this.statsH, gl.RGBA32F);
    this.fboAtlas = fbo(this.atlas);
    this.fboStats = fbo(this.stats);
    this.fboPartial = gl.createFramebuffer()!;
    const pbo = (bytes: number) => {
      const b = gl.createBuffer()!;
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, b);
      gl.bufferData(gl.PIXEL_PACK_BUFFER, bytes, gl.STREAM_READ);
      return b;
    };
    this.pboAtlas = pbo(ATLAS_W * this.atlasH * 4);
    this.pboStats = pbo(STATS_W * this.statsH * 16);
    this.vao = gl.createVertexArray()!;
    this.progPartial = this.compile(PARTIAL);
    this.progReduce = this.compile(REDUCE);
    this.progQuantize = this.compile(QUANTIZE);
  }

  private compile(fragment: string): Program {
    const gl = this.gl;
    const shader = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) && !gl.isContextLost()) {
        throw new Error(`extraction shader failed to compile: ${gl.getShaderInfoLog(s)}`);
      }
      return s;
    };
    const program = gl.createProgram()!;
    gl.attachShader(program, shader(gl.VERTEX_SHADER, VERT));
    gl.attachShader(program, shader(gl.FRAGMENT_SHADER, fragment));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
      throw new Error(`extraction program failed to link: ${gl.getProgramInfoLog(program)}`);
    }
    const loc = new Map<string, WebGLUniformLocation | null>();
    const n = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS) as number;
    for (let i = 0; i < n; i++) {
      const name = gl.getActiveUniform(program, i)!.name;
      loc.set(name, gl.getUniformLocation(program, name));
    }
    return { program, loc };
  }

  /** Saves tfjs's GL state, runs `fn`, restores it (see the module comment). */
  private withState<T>(fn: () => T): T {
    const gl = this.gl;
    const fb = gl.getParameter(gl.FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
    const viewport = gl.getParameter(gl.VIEWPORT) as Int32Array;
    const scissorOn = gl.isEnabled(gl.SCISSOR_TEST);
    const scissor = gl.getParameter(gl.SCISSOR_BOX) as Int32Array;
    const cullOn = gl.isEnabled(gl.CULL_FACE);
    const vao = gl.getParameter(gl.VERTEX_ARRAY_BINDING) as WebGLVertexArrayObject | null;
    const program = gl.getParameter(gl.CURRENT_PROGRAM) as WebGLProgram | null;
    const active = gl.getParameter(gl.ACTIVE_TEXTURE) as number;
    gl.activeTexture(gl.TEXTURE0);
    const tex0 = gl.getParameter(gl.TEXTURE_BINDING_2D) as WebGLTexture | null;
    gl.activeTexture(gl.TEXTURE1);
    const tex1 = gl.getParameter(gl.TEXTURE_BINDING_2D) as WebGLTexture | null;
    const pack = gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING) as WebGLBuffer | null;
    try {
      gl.disable(gl.CULL_FACE);
      gl.enable(gl.SCISSOR_TEST);
      gl.bindVertexArray(this.vao ?? null);
      return fn();
    } finally {
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pack);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, tex1);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, tex0);
      gl.activeTexture(active);
      gl.useProgram(program);
      gl.bindVertexArray(vao);
      if (cullOn) gl.enable(gl.CULL_FACE);
      else gl.disable(gl.CULL_FACE);
      if (scissorOn) gl.enable(gl.SCISSOR_TEST);
      else gl.disable(gl.SCISSOR_TEST);
      gl.scissor(scissor[0], scissor[1], scissor[2], scissor[3]);
      gl.viewport(viewport[0], viewport[1], viewport[2], viewport[3]);
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    }
  }

  /** Starts a pass: frames go to `emit`, in layer order. */
  begin(emit?: (f: LayerFrame) => void): void {
    this.abort();
    this.emit = emit ?? null;
  }

  /** Queues one layer: GPU quantization, or CPU where the GPU path does not apply. Never waits for the GPU unless the atlas is full. */
  async push(out: LayerOutput, maxSide: number, emit: (f: LayerFrame) => void): Promise<void> {
    this.emit = emit;
    const t = out.tensor;
    const [H, W, C] = frameShape(t.shape);
    const { factor, h, w } = pooledSize(H, W, maxSide);
    const n = C * h * w;
    const nTex = Math.ceil(n / 4);
    const statRows = Math.ceil(C / STATS_W);
    const hw = h * w;
    const chunk = Math.max(1, Math.ceil(Math.sqrt(hw)));
    const P = Math.ceil(hw / chunk);
    const meta = { layerId: out.layerId, index: out.index, fullShape: t.shape.slice(1) };
    const texture = webglTexture(t);
    const onGpu =
      t.dtype === 'float32' &&
      !!texture &&
      nTex <= ATLAS_W * this.atlasH &&
      statRows <= this.statsH &&
      C <= this.maxTex &&
      P <= this.maxTex &&
      n > 0;
    if (!onGpu) {
      // Small outputs tfjs keeps on the CPU (WEBGL_CPU_FORWARD), non-float outputs, or a layer bigger than the atlas.
      const q = quantizeNHWC(t.dataSync() as Float32Array, H, W, C, maxSide);
      this.queue.push({
        out: meta,
        shape: q.shape,
        frame: frameOf(meta, q),
      });
      this.drain();
      return;
    }
    if (this.cursor + nTex > ATLAS_W * this.atlasH || this.statsRow + statRows > this.statsH) {
      // The atlas is full: everything queued must be read back before its rows are reused.
      this.flush();
      await this.waitAll(() => null);
      this.cursor = 0;
      this.statsRow = 0;
    }
    const start = this.cursor;
    const row0 = this.statsRow;
    this.cursor += nTex;
    this.statsRow += statRows;
    const gpuData = t.dataToGPU();
    try {
      this.withState(() => {
        const gl = this.gl;
        this.ensurePartial(P, C);
        const srcW = gpuData.texShape![1];
        const setFetch = (p: Program) => {
          this.uniforms(p, { u_srcW: srcW, u_H: H, u_W: W, u_C: C, u_f: factor, u_h: h, u_w: w });
          gl.uniform1i(p.loc.get('u_src')!, 0);
        };
        gl.activeTexture(gl.TEXTURE0);
        gl.bindTexture(gl.TEXTURE_2D, gpuData.texture!);
        // 1. partial min/max: P × C fragments
        gl.useProgram(this.progPartial.program);
        setFetch(this.progPartial);
        this.uniforms(this.progPartial, { u_chunk: chunk });
        this.draw(this.fboPartial, 0, 0, P, C);
        // 2. reduce into the stats atlas rows [row0, row0 + statRows)
        gl.useProgram(this.progReduce.program);
        gl.bindTexture(gl.TEXTURE_2D, this.partial);
        gl.uniform1i(this.progReduce.loc.get('u_part')!, 0);
        this.uniforms(this.progReduce, { u_P: P, u_C: C, u_statsW: STATS_W, u_row0: row0 });
        this.draw(this.fboStats, 0, row0, STATS_W, statRows);
        // 3. quantize into the atlas rows covering texels [start, start + nTex)
        gl.useProgram(this.progQuantize.program);
        gl.bindTexture(gl.TEXTURE_2D, gpuData.texture!);
        gl.activeTexture(gl.TEXTURE1);
        gl.bindTexture(gl.TEXTURE_2D, this.stats);
        setFetch(this.progQuantize);
        gl.uniform1i(this.progQuantize.loc.get('u_stats')!, 1);
        this.uniforms(this.progQuantize, {
          u_atlasW: ATLAS_W,
          u_start: start,
          u_nTex: nTex,
          u_n: n,
          u_statsW: STATS_W,
          u_row0: row0,
        });
        const r0 = Math.floor(start / ATLAS_W);
        const r1 = Math.ceil((start + nTex) / ATLAS_W);
        this.draw(this.fboAtlas, 0, r0, ATLAS_W, r1 - r0);
      });
    } finally {
      gpuData.tensorRef.dispose();
    }
    if (!this.open) {
      this.open = {
        chunk: { fence: null, done: false },
        firstTexel: start,
        endTexel: start,
        firstRow: row0,
        endRow: row0,
        bytes: 0,
        layers: 0,
      };
    }
    const o = this.open;
    o.endTexel = start + nTex;
    o.endRow = row0 + statRows;
    o.bytes += n;
    o.layers++;
    this.queue.push({
      out: meta,
      shape: [h, w, C],
      atlasByte: start * 4,
      statsByte: row0 * STATS_W * 16,
      countsZeros: factor === 1,
      chunk: o.chunk,
    });
    this.pushed++;
    if (this.pushed === 1 || o.bytes >= CHUNK_BYTES || o.layers >= CHUNK_LAYERS) this.flush();
    this.drain();
  }

  private uniforms(p: Program, values: Record<string, number>): void {
    for (const [k, v] of Object.entries(values)) {
      const l = p.loc.get(k);
      if (l) this.gl.uniform1i(l, v);
    }
  }

  private draw(fbo: WebGLFramebuffer, x: number, y: number, w: number, h: number): void {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    gl.viewport(x, y, w, h);
    gl.scissor(x, y, w, h);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  private ensurePartial(P: number, C: number): void {
    const [pw, ph] = this.partialSize;
    if (this.partial && P <= pw && C <= ph) return;
    const gl = this.gl;
    const w = Math.min(this.maxTex, Math.max(P, pw, 256));
    const h = Math.min(this.maxTex, Math.max(C, ph, 512));
    if (this.partial) gl.deleteTexture(this.partial);
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, w, h);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fboPartial);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t, 0);
    this.partial = t;
    this.partialSize = [w, h];
  }

  /** Reads the open chunk's atlas and stats rows into the pack buffers and fences them. */
  private flush(): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    this.withState(() => {
      const gl = this.gl;
      const r0 = Math.floor(o.firstTexel / ATLAS_W);
      const r1 = Math.ceil(o.endTexel / ATLAS_W);
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.fboAtlas);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, this.pboAtlas);
      gl.readPixels(0, r0, ATLAS_W, r1 - r0, gl.RGBA, gl.UNSIGNED_BYTE, r0 * ATLAS_W * 4);
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.fboStats);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, this.pboStats);
      gl.readPixels(0, o.firstRow, STATS_W, o.endRow - o.firstRow, gl.RGBA, gl.FLOAT, o.firstRow * STATS_W * 16);
      o.chunk.fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
      gl.flush();
    });
  }

  /** Emits every frame at the head of the queue whose data is ready, in order. */
  private drain(): void {
    const gl = this.gl;
    while (this.queue.length) {
      const e = this.queue[0];
      if (!e.frame) {
        const c = e.chunk!;
        if (!c.done) {
          if (!c.fence || gl.isContextLost()) return;
          const status = gl.clientWaitSync(c.fence, 0, 0);
          if (status !== gl.ALREADY_SIGNALED && status !== gl.CONDITION_SATISFIED) return;
          gl.deleteSync(c.fence);
          c.fence = null;
          c.done = true;
        }
        e.frame = this.read(e);
      }
      this.queue.shift();
      this.emit?.(e.frame);
    }
  }

  private read(e: Entry): LayerFrame {
    const gl = this.gl;
    const [h, w, C] = e.shape;
    const data = this.takeBuffer(C * h * w) ?? new Uint8Array(C * h * w);
    const stats = new Float32Array(C * 4);
    const pack = gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING) as WebGLBuffer | null;
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, this.pboAtlas);
    gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, e.atlasByte!, data);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, this.pboStats);
    gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, e.statsByte!, stats);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pack);
    const min = new Float32Array(C);
    const max = new Float32Array(C);
    let zeros = 0;
    for (let c = 0; c < C; c++) {
      min[c] = stats[c * 4];
      max[c] = stats[c * 4 + 1];
      zeros += stats[c * 4 + 2];
    }
    return { ...e.out, shape: e.shape, min, max, data, ...(e.countsZeros ? { zeros } : {}) };
  }

  /** Waits until every queued frame was emitted; `check` may abort the wait (cancel, lost context). */
  private async waitAll(check: () => Error | null): Promise<void> {
    let spins = 0;
    while (this.queue.length) {
      const err = check();
      if (err) throw err;
      if (this.gl.isContextLost()) throw new ContextLostError();
      this.drain();
      if (!this.queue.length) break;
      // Fences cannot be awaited: poll, briefly with a macrotask ping, then every millisecond.
      await new Promise<void>((r) => (spins++ < 50 ? queueMacrotask(r) : setTimeout(r, 1)));
    }
  }

  /** Ends a pass: reads back what is left and emits it. */
  async finish(check: () => Error | null = () => null): Promise<void> {
    this.flush();
    await this.waitAll(check);
    this.cursor = 0;
    this.statsRow = 0;
    this.pushed = 0;
  }

  /** Drops everything queued (a cancelled pass). */
  abort(): void {
    if (!this.gl.isContextLost()) {
      for (const e of this.queue) if (e.chunk?.fence) this.gl.deleteSync(e.chunk.fence);
      if (this.open?.chunk.fence) this.gl.deleteSync(this.open.chunk.fence);
    }
    this.queue = [];
    this.open = null;
    this.cursor = 0;
    this.statsRow = 0;
    this.pushed = 0;
  }

  /** Compiles and runs the shaders once on a tiny tensor (part of a model's warm-up). */
  async warmUp(): Promise<void> {
    const x = tf.tidy(() => tf.randomUniform([1, 8, 8, 4]).mul(2));
    try {
      this.begin();
      await this.push({ layerId: 'warm-up', index: 0, tensor: x }, 0, () => {});
      await this.finish();
    } finally {
      x.dispose();
    }
  }

  dispose(): void {
    this.abort();
    const gl = this.gl;
    if (gl.isContextLost()) return;
    for (const t of [this.atlas, this.stats, this.partial]) if (t) gl.deleteTexture(t);
    for (const f of [this.fboAtlas, this.fboStats, this.fboPartial]) gl.deleteFramebuffer(f);
    for (const b of [this.pboAtlas, this.pboStats]) gl.deleteBuffer(b);
    for (const p of [this.progPartial, this.progReduce, this.progQuantize]) gl.deleteProgram(p.program);
    gl.deleteVertexArray(this.vao);
  }
}

/** A macrotask without setTimeout's 4 ms clamp (MessageChannel), for polling fences. */
function queueMacrotask(cb: () => void): void {
  if (typeof MessageChannel === 'undefined') {
    setTimeout(cb, 0);
    return;
  }
  const ch = new MessageChannel();
  ch.port1.onmessage = () => {
    ch.port1.close();
    cb();
  };
  ch.port2.postMessage(0);
}
