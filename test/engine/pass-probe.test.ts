/**
 * The pass probe (test/engine/pass-probe.js) that `npm run bench -- --browser --app` injects into the app and the
 * bench page. Over real MessageChannels and the real EngineClient, against a scripted engine whose replies the
 * test knows: each analyze request gets one record, with the frames and the done (or error) that answer it on its
 * own port, in time order; the client still receives every reply; a removed listener is really removed.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../common/engine-client';
import type { EngineRequest } from '../../common/engine-protocol';
import type { ProbeRecord } from '../../scripts/bench-app-pass';

const probe = () => (globalThis as unknown as { __passProbe: { passes: ProbeRecord[] } }).__passProbe;

beforeAll(() => {
  // The probe is a browser script: here `window` is Node's global, whose MessagePort it patches.
  (globalThis as { window?: unknown }).window = globalThis;
  new Function(readFileSync(new URL('./pass-probe.js', import.meta.url), 'utf8'))();
});

const TIMINGS = { decodeMs: 1, forwardMs: 7, extractMs: 3, totalMs: 11, firstFrameMs: 2 };
const image = { kind: 'rgba' as const, name: 'a.png', width: 1, height: 1, data: new Uint8ClampedArray(4) };

/** An engine on `port` that answers each analyze with `frames` frames and done, or with `error`. */
function scriptedEngine(port: MessagePort, frames: number, error?: string): void {
  port.addEventListener('message', (ev: MessageEvent) => {
    const req = ev.data as EngineRequest;
    if (req.type === 'ping') port.postMessage({ type: 'pong', id: req.id });
    if (req.type !== 'analyze') return;
    if (error) return port.postMessage({ type: 'error', id: req.id, message: error });
    for (let i = 0; i < frames; i++) {
      const frame = {
        layerId: `l${i}`,
        index: i,
        shape: [2, 2, 1],
        fullShape: [2, 2, 1],
        min: new Float32Array(1),
        max: new Float32Array([1]),
        data: new Uint8Array(4),
      };
      port.postMessage({ type: 'frame', id: req.id, frame });
    }
    port.postMessage({ type: 'done', id: req.id, timings: TIMINGS, backend: 'wasm' });
  });
  port.start();
}

function connect(frames: number, error?: string): EngineClient {
  const channel = new MessageChannel();
  scriptedEngine(channel.port2, frames, error);
  return new EngineClient(channel.port1, { watchdog: false });
}

describe('pass probe', () => {
  it('records a pass: its frames and done, in order, while the client still gets every frame', async () => {
    const client = connect(3);
    const before = probe().passes.length;
    const got: string[] = [];
    const run = client.analyze({ modelId: 'm', image }).onFrame((f) => got.push(f.layerId));
    const outcome = await run.done;
    client.dispose();
    expect(got).toEqual(['l0', 'l1', 'l2']);
    expect(outcome.timings).toEqual(TIMINGS);
    const recs = probe().passes.slice(before);
    expect(recs).toHaveLength(1);
    const r = recs[0];
    expect(r).toMatchObject({ modelId: 'm', frames: 3, timings: TIMINGS, failed: null });
    expect(r.firstFrameAt).toBeGreaterThanOrEqual(r.requestAt);
    expect(r.lastFrameAt).toBeGreaterThanOrEqual(r.firstFrameAt!);
    expect(r.doneAt).toBeGreaterThanOrEqual(r.lastFrameAt!);
  });

  it('keeps passes on different ports apart although their request ids are equal', async () => {
    const a = connect(1);
    const b = connect(2);
    const before = probe().passes.length;
    await Promise.all([a.analyze({ modelId: 'a', image }).done, b.analyze({ modelId: 'b', image }).done]);
    a.dispose();
    b.dispose();
    const recs = probe().passes.slice(before);
    expect(recs.map((r) => [r.modelId, r.frames])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('records an error reply as the pass failing, with its message', async () => {
    const client = connect(0, 'cannot decode a.png');
    const before = probe().passes.length;
    await expect(client.analyze({ modelId: 'm', image }).done).rejects.toThrow(/cannot decode a\.png/);
    client.dispose();
    expect(probe().passes.slice(before)).toMatchObject([{ failed: 'cannot decode a.png', doneAt: null, frames: 0 }]);
  });

  it('removes a listener that is removed', async () => {
    const channel = new MessageChannel();
    const heard: string[] = [];
    const gone = () => heard.push('removed one');
    const kept = (ev: MessageEvent) => heard.push(String(ev.data));
    channel.port1.addEventListener('message', gone);
    channel.port1.addEventListener('message', kept);
    channel.port1.removeEventListener('message', gone);
    channel.port1.start();
    channel.port2.postMessage('hello');
    await new Promise((r) => setTimeout(r, 50));
    channel.port1.close();
    expect(heard).toEqual(['hello']);
  });
});
