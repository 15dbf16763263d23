/**
 * A Compare store on the real engine (tfjs on wasm, in this process) for tests that run Compare end to end, and a
 * second client on the same engine: the main view's route, which such tests use as their oracle.
 */
import { readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { resolve } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import type { HostBridge } from '../../renderer/src/bridge/types';
import { EngineClient } from '../../common/engine-client';
import { createNodeEngine } from '../../renderer/src/engine/node';
import { serveEngine } from '../../renderer/src/engine/server';
import type { PortLike } from '../../common/engine-protocol';
import { useCompareStore } from '../../renderer/src/explorer/stores/compare';

const ROOT = resolve(__dirname, '../..');
export const RESOURCES = `${resolve(ROOT, 'resources')}/`;

/** A bundled sample photo's bytes, as a drop gives them. */
export const sample = (name: string) => {
  const b = readFileSync(resolve(ROOT, 'resources/samples', name));
  return { name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};

/** Opens a Compare store on a fresh engine; `close()` releases the store, the oracle client and the ports. */
export async function openCompareOnRealEngine(): Promise<{
  store: ReturnType<typeof useCompareStore>;
  oracle: EngineClient;
  close(): void;
}> {
  setActivePinia(createPinia());
  const engine = createNodeEngine({ warmUp: false });
  const channel = new MessageChannel();
  const second = new MessageChannel();
  const ports = [channel.port1, channel.port2, second.port1, second.port2];
  const stops = [
    serveEngine(channel.port2 as unknown as PortLike, engine),
    serveEngine(second.port2 as unknown as PortLike, engine),
  ];
  const oracle = new EngineClient(second.port1 as unknown as PortLike);
  const bridge = {
    kind: 'web',
    resourcesBase: RESOURCES,
    connectEngine: async () => channel.port1 as unknown as PortLike,
  } as unknown as HostBridge;
  const store = useCompareStore();
  await store.open(bridge);
  return {
    store,
    oracle,
    close() {
      store.close();
      oracle.dispose();
      stops.forEach((s) => s());
      ports.forEach((p) => p.close());
    },
  };
}
