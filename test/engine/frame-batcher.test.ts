import { describe, expect, it } from 'vitest';
import { FrameBatcher } from '../../renderer/src/engine/server';
import type { LayerFrame } from '../../common/engine-protocol';

const frame = (layerId: string, index: number): LayerFrame => ({
  layerId,
  index,
  shape: [1, 1, 1],
  fullShape: [1, 1, 1],
  min: new Float32Array(1),
  max: new Float32Array(1),
  data: new Uint8Array(1),
});

describe('frames on their way to the UI', () => {
  it('sends the first at once, then one message per turn of the event loop, in stream order', async () => {
    const sent: string[][] = [];
    let turn: () => void = () => {};
    const b = new FrameBatcher(
      (fs) => sent.push(fs.map((f) => f.layerId)),
      () => new Promise<void>((r) => (turn = r)),
    );
    b.push(frame('a', 0));
    expect(sent).toEqual([['a']]); // the first feature maps do not wait
    b.push(frame('b', 1));
    b.push(frame('c', 2));
    expect(sent).toEqual([['a']]); // the pass has not yielded yet
    turn();
    await Promise.resolve();
    await Promise.resolve();
    expect(sent).toEqual([['a'], ['b', 'c']]);
    b.push(frame('d', 3));
    b.flush(); // the pass ended before the loop turned
    expect(sent).toEqual([['a'], ['b', 'c'], ['d']]);
    turn();
    await Promise.resolve();
    await Promise.resolve();
    expect(sent).toHaveLength(3); // nothing left to send: no empty message
  });
});
