/**
 * Backend selection: picks a tfjs backend from an order of preference (webgl → wasm → cpu), says why in one
 * line, watches the WebGL context and falls back when it is lost, and owns what is bound to that context (the
 * GPU frame extractor). Loaded models are rebuilt on the new backend through the `rebuild` hook.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendName } from '../../../common/engine-protocol';
import { GpuExtractor, gpuExtractionSupported } from './gpu-extract';
import type { EnginePlatform } from './platform';

export interface BackendState {
  backend: BackendName;
  reason: string;
}

/** Runs `fn` after every earlier exclusive operation has finished (the engine's one tfjs lock). */
export type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface BackendHooks {
  exclusive: Exclusive;
  /** Rebuilds every loaded model after the backend changed (called inside the lock). */
  rebuild(): Promise<void>;
  /** A frame buffer of `bytes` bytes for the GPU extractor (the engine's frame pool). */
  takeBuffer(bytes: number): Uint8Array | undefined;
}

export class BackendSelector {
  private state: BackendState | null = null;
  private readonly listeners = new Set<(s: BackendState) => void>();
  private contextLost = false;
  /** The webgl backend's context, once chosen (watched for loss). */
  private gl: WebGL2RenderingContext | null = null;
  private gpu: GpuExtractor | null = null;

  constructor(
    private readonly platform: EnginePlatform,
    private readonly hooks: BackendHooks,
  ) {}

  /** The current backend, or null before the first switch. */
  get current(): BackendState | null {
    return this.state;
  }

  /** True when the current backend is webgl. */
  get onWebgl(): boolean {
    return this.state?.backend === 'webgl';
  }

  /** Subscribes to backend changes (fallbacks, explicit switches); returns the unsubscribe function. */
  onChange(cb: (s: BackendState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Picks the platform's default backend unless one is chosen already. Takes the lock itself. */
  async ensure(): Promise<void> {
    if (!this.state)
      await this.hooks.exclusive(async () => (this.state ? undefined : this.switchTo(this.platform.backends, false)));
  }

  /**
   * Switches to the first backend of `prefer` that starts (explicit: software WebGL allowed, a lost context
   * tried again); `note` is appended to the reason. Call inside the lock.
   */
  async switchTo(prefer: BackendName[], explicit: boolean, note = ''): Promise<BackendState> {
    const failures: string[] = [];
    for (const name of prefer) {
      if (!this.platform.backends.includes(name)) {
        failures.push(`${name}: not available in ${this.platform.name === 'node' ? 'Node' : 'this browser'}`);
        continue;
      }
      if (name === 'webgl' && this.contextLost && explicit) this.contextLost = false;
      if (name === 'webgl' && this.contextLost) {
        failures.push('webgl: the WebGL context was lost');
        continue;
      }
      const detail = await this.tryBackend(name, explicit).catch((e) => ({ error: errorMessage(e) }));
      if ('error' in detail) {
        failures.push(`${name}: ${detail.error}`);
        continue;
      }
      const reason = (failures.length ? `${detail.ok}; not ${failures.join('; not ')}` : detail.ok) + note;
      const changed = this.state?.backend !== name;
      this.state = { backend: name, reason };
      if (changed) await this.hooks.rebuild();
      for (const cb of this.listeners) cb(this.state);
      return this.state;
    }
    throw new Error(`no tfjs backend could be started (${failures.join('; ')})`);
  }

  private async tryBackend(name: BackendName, explicit: boolean): Promise<{ ok: string } | { error: string }> {
    await this.platform.beforeBackend?.(name);
    if (name === 'webgl') {
      // tfjs refuses software WebGL by default (failIfMajorPerformanceCaveat); allow it only on request:
      // SwiftShader runs these models 12–28× slower than wasm.
      tf.env().set('SOFTWARE_WEBGL_ENABLED', explicit);
    }
    const ok = await tf.setBackend(name);
    if (!ok)
      return {
        error: name === 'webgl' && !explicit ? 'no hardware-accelerated WebGL context' : 'could not be initialised',
      };
    await tf.ready();
    if (name === 'webgl') {
      const gpu = gpuExtractionSupported();
      if (!gpu.ok) return { error: gpu.reason };
      if (gpu.software && !explicit) return { error: `software rendering (${gpu.renderer}) is slower than wasm` };
      if (this.gl !== gpu.gl) this.watchContext(gpu.gl);
      this.gl = gpu.gl;
      this.gpu?.dispose();
      this.gpu = null;
      return { ok: `webgl: WebGL2 on ${gpu.renderer}` };
    }
    if (name === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return { ok: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : 'single thread'})` };
    }
    return { ok: 'cpu (plain JavaScript kernels)' };
  }

  /** True when the webgl backend's context is lost (synchronously, before the event arrives). */
  contextIsLost(): boolean {
    return this.gl?.isContextLost() ?? false;
  }

  /** True once the context-lost event arrived or the context reports itself lost. */
  webglGone(): boolean {
    return this.contextLost || this.contextIsLost();
  }

  private watchContext(gl: WebGL2RenderingContext): void {
    const canvas = gl.canvas as EventTarget;
    canvas.addEventListener('webglcontextlost', () => {
      this.contextLost = true;
      // No pass in flight: fall back now; a pass in flight notices at its next layer and reruns.
      void this.hooks.exclusive(async () => {
        if (this.onWebgl) await this.fallbackFromWebgl();
      });
    });
  }

  /** Marks the WebGL context lost and switches to the next backend. Call inside the lock. */
  async fallbackFromWebgl(): Promise<void> {
    this.contextLost = true;
    this.gpu = null; // its GL objects died with the context
    await this.switchTo(
      this.platform.backends.filter((b) => b !== 'webgl'),
      false,
      ' — the WebGL context was lost, fell back',
    );
  }

  /** Test hook: loses the WebGL context (WEBGL_lose_context). */
  simulateContextLoss(): boolean {
    if (!this.onWebgl) return false;
    const gl = gpuExtractionSupported();
    if (!gl.ok) return false;
    const ext = gl.gl.getExtension('WEBGL_lose_context');
    ext?.loseContext();
    return !!ext;
  }

  /** The GPU frame extractor on webgl (built on first use), null on other backends. */
  gpuExtractor(): GpuExtractor | null {
    if (!this.onWebgl) return null;
    if (!this.gpu) {
      const s = gpuExtractionSupported();
      if (!s.ok) return null;
      this.gpu = new GpuExtractor(s.gl, (n) => this.hooks.takeBuffer(n));
    }
    return this.gpu;
  }

  /** Frees the GPU extractor. */
  dispose(): void {
    this.gpu?.dispose();
    this.gpu = null;
  }
}
