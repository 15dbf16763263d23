/**
 * A real engine in a Node worker thread, for the watchdog tests: the thread can spin or exit without
 * taking the test's own thread with it, as the Web Worker does in the app. Started with tsx's loader
 * (see startEngineThread in watchdog.test.ts); every `{ type: 'connect', port }` gets the engine served.
 */
import { parentPort } from 'node:worker_threads';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { PortLike } from '../../common/engine-protocol';
import { serveEngine } from '../../renderer/src/engine/server';

const engine = createNodeEngine({ warmUp: false });

parentPort!.on('message', (msg: { type?: string; port?: MessagePort }) => {
  if (msg.type === 'connect' && msg.port)
    serveEngine(msg.port as unknown as PortLike, engine, { test: true, exit: () => process.exit(3) });
});
parentPort!.postMessage({ type: 'started' });
