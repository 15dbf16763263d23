import { createApp } from 'vue';
import { createPinia } from 'pinia';
import ExplorerApp from './explorer/ExplorerApp.vue';
import { createWebBridge } from './bridge/web';
import { BRIDGE_KEY } from './explorer/bridge-key';
import type { HostBridge } from './bridge/types';
import './explorer/theme.css';

/** Electron's preload exposes window.explorer; the browser build has none and starts the engine itself. */
async function chooseBridge(): Promise<HostBridge> {
  if ((window as unknown as { explorer?: unknown }).explorer) {
    const { createElectronBridge } = await import('./bridge/electron');
    return createElectronBridge();
  }
  return createWebBridge();
}

const bridge = await chooseBridge();
const app = createApp(ExplorerApp);
app.use(createPinia());
app.provide(BRIDGE_KEY, bridge);
app.mount('#app');
