/**
 * The engine's Web Worker entry. Started by the UI (browser build) or by the hidden inference window
 * (Electron) as `new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module' })`.
 * It serves every MessagePort it is given with `worker.postMessage({ type: 'connect' }, [port])`;
 * all ports share one Engine (loaded models, backend).
 */
import { Engine } from './engine';
import { browserPlatform } from './platform-browser';
import { serveEngine } from './server';

const engine = new Engine({ platform: browserPlatform });

self.addEventListener('message', (ev: MessageEvent) => {
  const data = ev.data as { type?: string } | null;
  if (data?.type === 'connect' && ev.ports[0]) serveEngine(ev.ports[0], engine);
});
