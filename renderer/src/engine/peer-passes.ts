/**
 * How other tools read every layer's activations, run on this engine's own runner so the bench compares methods,
 * not model builders (`npm run bench` prints them beside the engine in one run):
 * - `multiOutput`: TensorSpace's way — one pass with every layer as an output (all kept alive at once), then
 *   every output read back as float32 with `data()`: 4 bytes per value, every activation in memory together.
 * - `arraySync`: CNN Explainer's way — layer by layer, each output read as nested JavaScript arrays.
 * - `dataSync`: layer by layer, each output read as a flat float32 copy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Runner } from './runner';

export type PeerMethod = 'multiOutput' | 'arraySync' | 'dataSync';

export const PEER_METHODS: readonly PeerMethod[] = ['multiOutput', 'arraySync', 'dataSync'];

/** What one peer pass cost: ms, bytes read back as floats, and tfjs's peak tensor bytes during it. */
export interface PeerResult {
  ms: number;
  bytes: number;
  peakBytes: number;
}

/** Runs `input` through `runner` reading every layer the `method` way. Leaves no tensor behind. */
export async function peerPass(runner: Runner, input: tf.Tensor, method: PeerMethod): Promise<PeerResult> {
  let bytes = 0;
  let peakBytes = 0;
  const sample = () => (peakBytes = Math.max(peakBytes, tf.memory().numBytes));
  const t0 = performance.now();
  if (method === 'multiOutput') {
    const kept: tf.Tensor[] = [];
    try {
      await runner.run(input, (o) => {
        kept.push(tf.keep(o.tensor.clone()));
        sample();
      });
      const all = await Promise.all(kept.map((t) => t.data()));
      for (const a of all) bytes += a.length * 4;
    } finally {
      tf.dispose(kept);
    }
  } else {
    await runner.run(input, (o) => {
      sample();
      if (method === 'arraySync') {
        o.tensor.arraySync();
        bytes += o.tensor.size * 4;
      } else {
        bytes += (o.tensor.dataSync() as Float32Array).byteLength;
      }
    });
  }
  return { ms: performance.now() - t0, bytes, peakBytes };
}
