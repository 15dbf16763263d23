/**
 * Every place the engine reaches past tfjs's public API, in one file: the fields and flags below are internals of
 * tfjs-core, tfjs-backend-wasm and tfjs-backend-webgl 4.22 (their Emscripten module, data maps, variable registry,
 * compile-only mode). They have no stability promise, so `assertTfjsVersion` refuses to run on a tfjs this was not
 * written for: check each accessor against the new sources, then widen `TFJS_WRITTEN_FOR`.
 */
import * as tf from '@tensorflow/tfjs';

/** The tfjs major.minor versions whose internals these accessors were checked against. */
export const TFJS_WRITTEN_FOR: readonly string[] = ['4.22'];

/** Throws unless `version` (default: the running tfjs) is one `TFJS_WRITTEN_FOR` lists. */
export function assertTfjsVersion(version: string = tf.version.tfjs): void {
  const mm = version.split('.').slice(0, 2).join('.');
  if (!TFJS_WRITTEN_FOR.includes(mm)) {
    throw new Error(
      `tfjs ${version} is not a version the engine was written for (${TFJS_WRITTEN_FOR.join(', ')}): ` +
        'renderer/src/engine/tfjs-private.ts reads tfjs internals; check each accessor there before upgrading',
    );
  }
}

/** tfjs-core's registry of live variables (the engine's `state.registeredVariables`). */
export function registeredVariables(): Record<string, tf.Variable> {
  return (tf.engine() as unknown as { state: { registeredVariables: Record<string, tf.Variable> } }).state
    .registeredVariables;
}

/** The webgl backend's parallel-compilation hooks (KHR_parallel_shader_compile), or null on other backends. */
export function parallelCompile(): {
  checkCompileCompletionAsync(): Promise<boolean[]>;
  getUniformLocations(): void;
} | null {
  const backend = tf.backend() as unknown as {
    checkCompileCompletionAsync?: () => Promise<boolean[]>;
    getUniformLocations?: () => void;
  };
  if (!backend.checkCompileCompletionAsync || !backend.getUniformLocations) return null;
  return backend as { checkCompileCompletionAsync(): Promise<boolean[]>; getUniformLocations(): void };
}

/** tfjs-backend-webgl's compile-only mode: programs are compiled, nothing is run. */
export function setCompileOnly(on: boolean): void {
  tf.env().set('ENGINE_COMPILE_ONLY', on);
}

/** The webgl backend's WebGL context (`gpgpu.gl`), or undefined. */
export function webglContext(): WebGL2RenderingContext | undefined {
  return (tf.backend() as unknown as { gpgpu?: { gl: WebGL2RenderingContext } }).gpgpu?.gl;
}

/** The WebGL texture holding `t` on the webgl backend (undefined when it lives on the CPU or nowhere yet). */
export function webglTexture(t: tf.Tensor): unknown {
  return (tf.backend() as unknown as { texData?: { get(id: object): { texture?: unknown } | undefined } }).texData?.get(
    t.dataId,
  )?.texture;
}

/** The wasm backend's Emscripten module (internal fields of tfjs-backend-wasm 4.x). */
export interface WasmModule {
  HEAPU8: Uint8Array;
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  _malloc(n: number): number;
  _free(p: number): void;
}

/** The current wasm backend's module, or undefined off wasm. */
export function wasmModule(): WasmModule | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  return (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
}

/** The module's WebAssembly.Memory (its field moved between Emscripten versions). */
export function wasmMemory(mod: WasmModule): WebAssembly.Memory | undefined {
  return mod.asm?.memory ?? mod.wasmMemory;
}

/** Byte offset of a float32 tensor in the wasm heap (4-byte aligned), or null. */
export function wasmHeapOffset(t: tf.Tensor): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as {
    dataIdMap?: { get(id: object): { memoryOffset: number | null } | undefined };
  };
  const rec = be.dataIdMap?.get(t.dataId);
  return rec && rec.memoryOffset != null && rec.memoryOffset % 4 === 0 ? rec.memoryOffset : null;
}

/**
 * A Float32Array over the wasm heap where tfjs-backend-wasm keeps `t`, or null off wasm. `t.data()`
 * would copy the values out first (readSync slices the heap); reading them in place saves that copy.
 * Valid only until the next wasm call.
 */
export function wasmHeapView(t: tf.Tensor): Float32Array | null {
  const offset = wasmHeapOffset(t);
  const heap = wasmModule()?.HEAPU8;
  if (offset === null || !heap || offset + t.size * 4 > heap.byteLength) return null;
  return new Float32Array(heap.buffer, offset, t.size);
}

/** tfjs-layers' inbound nodes of a layer (its applications in the model graph), not in tf's typings. */
export function inboundNodes<N>(layer: tf.layers.Layer): N[] {
  return (layer as unknown as { inboundNodes: N[] }).inboundNodes;
}
