/**
 * The engine's Web Worker entry. Started by the UI (browser build) or by the hidden inference window
 * (Electron) as `new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module' })`.
 * It serves every MessagePort it is given with `worker.postMessage({ type: 'connect' }, [port])`;
 * all ports share one Engine (loaded models, backend). `{ type: 'connect', test: true }` also accepts
 * the test-only requests on that port (`debugSpin`, `debugExit`; see server.ts).
 */
import { Engine } from './engine';
import { wasmModule } from './tfjs-private';
import { browserPlatform } from './platform-browser';
import { serveEngine } from './server';

// Every message reaches this thread as a structured-clone copy: the model files it is sent are its own.
const engine = new Engine({ platform: browserPlatform, ownsUserFiles: true });

/**
 * What this thread holds: the JS heap (Chromium's performance.memory) plus the wasm backend's memory, which
 * grows for a large input and never shrinks; the UI restarts the engine when the sum passes its limit.
 */
function heapBytes(): number | undefined {
  const js = (performance as { memory?: { usedJSHeapSize?: number } }).memory?.usedJSHeapSize ?? 0;
  let wasm = 0;
  try {
    wasm = wasmModule()?.HEAPU8?.byteLength ?? 0;
  } catch {
    // no backend yet
  }
  return js + wasm || undefined;
}

self.addEventListener('message', (ev: MessageEvent) => {
  const data = ev.data as { type?: string; test?: unknown } | null;
  if (data?.type === 'connect' && ev.ports[0])
    serveEngine(ev.ports[0], engine, { test: data.test === true, exit: () => self.close(), heapBytes });
});
