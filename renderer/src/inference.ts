/**
 * Script of the hidden inference window (renderer/inference.html). It starts the engine's Web Worker,
 * hands it every port main sends (one per UI connection), and performs the ready handshake: its own
 * MessageChannel to the worker, a `hello`, and on the `ready` reply `window.inferenceHost.ready()`.
 * Reported as fatal (main then replaces this window): a worker error before the handshake completed (the
 * engine could not start), a failed hello, or a WebGL context lost twice within a minute. An error event
 * after the handshake is only logged: the worker outlives an exception thrown in one of its handlers, and
 * errors of the wasm backend's own threads surface here too.
 *
 * Worker → page messages (posted on the worker's global scope, not on a port) this page understands:
 * `{ type: 'context-lost' }` and `{ type: 'fatal', reason }`.
 */
import { PORT_MESSAGE, type InferenceHostApi } from '../../common/ipc-contract';
import type { EngineReply, EngineRequest } from '../../common/engine-protocol';

declare global {
  interface Window {
    /** Exposed by preload/inference.ts. */
    inferenceHost?: InferenceHostApi;
  }
}

/** Two lost WebGL contexts within this window mean the GPU process is not coming back. */
const CONTEXT_LOSS_WINDOW_MS = 60_000;
/** Id of the handshake's hello. */
const HELLO_ID = 1;

const host = window.inferenceHost;
let reported = false;
let ready = false;

function fatal(reason: string): void {
  console.error(`[inference] fatal: ${reason}`);
  if (reported) return;
  reported = true;
  host?.fatal(reason);
}

if (!host) {
  // Without the preload nothing can reach main; say so where a developer will look.
  console.error('[inference] window.inferenceHost is missing: preload/inference.ts did not run');
}

const worker = new Worker(new URL('./engine/worker.ts', import.meta.url), { type: 'module', name: 'engine' });

worker.addEventListener('error', (event) => {
  const message = `engine worker error: ${event.message || 'the worker failed to start'}`;
  if (ready) console.error(`[inference] ${message}`);
  else fatal(message);
});
worker.addEventListener('messageerror', () =>
  console.error('[inference] a message from the engine worker could not be deserialized'),
);

const contextLosses: number[] = [];
worker.addEventListener('message', (event: MessageEvent) => {
  const data = event.data as { type?: unknown; reason?: unknown } | null;
  if (!data || typeof data !== 'object') return;
  if (data.type === 'context-lost') {
    const now = performance.now();
    contextLosses.push(now);
    while (contextLosses.length && now - contextLosses[0] > CONTEXT_LOSS_WINDOW_MS) contextLosses.shift();
    if (contextLosses.length >= 2) fatal(`WebGL context lost ${contextLosses.length} times within a minute`);
  } else if (data.type === 'fatal') {
    fatal(typeof data.reason === 'string' ? data.reason : 'the engine reported a fatal error');
  }
});

// Ports from main, forwarded by the preload: each one is a UI connection for the worker to serve.
window.addEventListener('message', (event: MessageEvent) => {
  if (event.source !== window || event.data !== PORT_MESSAGE) return;
  const port = event.ports[0];
  if (port) worker.postMessage({ type: 'connect' }, [port]);
});

// The ready handshake, on a channel of our own.
const handshake = new MessageChannel();
worker.postMessage({ type: 'connect' }, [handshake.port2]);
handshake.port1.addEventListener('message', (event: MessageEvent<EngineReply>) => {
  const reply = event.data;
  if (reply.type === 'ready' && reply.id === HELLO_ID) {
    handshake.port1.close();
    ready = true;
    host?.ready(reply.backend);
  } else if (reply.type === 'error' && (reply.id === HELLO_ID || reply.id === null)) {
    handshake.port1.close();
    fatal(`engine hello failed: ${reply.message}`);
  }
});
handshake.port1.start();
const hello: EngineRequest = { type: 'hello', id: HELLO_ID, resourcesBase: new URL('./', document.baseURI).href };
handshake.port1.postMessage(hello);
