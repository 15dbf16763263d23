/**
 * The Node host of the engine (tests, bench, CLI) runs the extraction kernel the app runs: with relaxed SIMD's
 * truncation, which Node 20 has behind a V8 flag (node.ts `enableRelaxedSimd`). The kernel's bytes are the same
 * either way (wasm-quantize.test.ts); this is about speed (`npm run bench -- --kernels`).
 */
import { describe, expect, it } from 'vitest';
import { createNodeEngine, enableRelaxedSimd } from '../../renderer/src/engine/node';
import { kernelModuleBytes } from '../../renderer/src/engine/wasm-quantize';

describe('the Node engine host', () => {
  it('compiles the extraction kernel with relaxed SIMD, as Chromium and Electron do', async () => {
    const engine = createNodeEngine({ warmUp: false });
    expect(WebAssembly.validate(kernelModuleBytes(true) as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(enableRelaxedSimd()).toBe(true); // and asking again changes nothing
    await engine.dispose();
  });
});
