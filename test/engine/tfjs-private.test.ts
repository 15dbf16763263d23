/**
 * The one file of casts into tfjs internals: its version gate, and each accessor checked against tfjs's public
 * API on the backend it reads (so an upgrade that moves a field fails here, not as garbage frames).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TFJS_WRITTEN_FOR,
  assertTfjsVersion,
  registeredVariables,
  wasmHeapOffset,
  wasmHeapView,
  wasmMemory,
  wasmModule,
} from '../../renderer/src/engine/tfjs-private';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('tfjs-private', () => {
  it('runs on the tfjs it was written for and refuses any other, saying where to look', () => {
    expect(TFJS_WRITTEN_FOR).toContain(tf.version.tfjs.split('.').slice(0, 2).join('.'));
    expect(() => assertTfjsVersion()).not.toThrow();
    expect(() => assertTfjsVersion('4.22.3')).not.toThrow();
    expect(() => assertTfjsVersion('4.23.0')).toThrow(/tfjs 4\.23\.0 is not a version.*tfjs-private\.ts/);
    expect(() => assertTfjsVersion('5.0.0')).toThrow(/written for \(4\.22\)/);
  });

  it('reads a wasm tensor in place: the heap view equals dataSync()', () => {
    const t = tf.tensor([1.5, -2, 3.25, 7, 0, 9], [2, 3]);
    try {
      expect(wasmHeapOffset(t)).not.toBeNull();
      expect([...wasmHeapView(t)!]).toEqual([...(t.dataSync() as Float32Array)]);
      const mod = wasmModule()!;
      expect(wasmMemory(mod)!.buffer).toBe(mod.HEAPU8.buffer);
    } finally {
      t.dispose();
    }
  });

  it('lists live variables as tf.variable registers them', () => {
    const v = tf.variable(tf.zeros([2]), true, 'tfjs_private_probe');
    try {
      expect(registeredVariables()['tfjs_private_probe']).toBe(v);
    } finally {
      v.dispose();
    }
    expect(registeredVariables()['tfjs_private_probe']).toBeUndefined();
  });
});
