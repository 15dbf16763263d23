/**
 * The UI window's preload (sandboxed: it may only `require('electron')`). Exposes `window.explorer`, one
 * named function per contract message (STYLE.md #4) — never ipcRenderer itself — and forwards the engine
 * ports main sends into the page with `window.postMessage({ type: PORT_MESSAGE, clientId }, '*', [port])`,
 * because contextBridge cannot pass a MessagePort. No function takes a file path: files reach main only
 * through its own dialogs and Recent entries.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  Invoke,
  PORT_MESSAGE,
  Push,
  type EngineStatus,
  type ExplorerApi,
  type MenuCommand,
  type PagePortMessage,
  type ModelFilesPayload,
  type RestartEngineRequest,
  type WireModel,
  type WireRecentOpenResult,
} from '../common/ipc-contract';

/** Subscribes `cb` to a push channel; the page gets only the payload, never the IPC event. */
function subscribe<T>(channel: string, cb: (payload: T) => void): () => void {
  const listener = (_event: IpcRendererEvent, payload: T) => cb(payload);
  ipcRenderer.on(channel, listener);
  return () => {
    ipcRenderer.removeListener(channel, listener);
  };
}

/** Turns a model as it crossed IPC back into whole files, pulling the large ones from main in chunks. */
async function assemble(wire: WireModel): Promise<ModelFilesPayload> {
  const files: ModelFilesPayload['files'] = [];
  for (const [index, f] of wire.files.entries()) {
    if ('bytes' in f) {
      files.push(f);
      continue;
    }
    if (!wire.transfer) throw new Error(`${wire.name}: ${f.path} was not sent`);
    const bytes = new Uint8Array(f.size);
    for (let offset = 0; offset < f.size;) {
      const reply: ArrayBuffer | ArrayBufferView = await ipcRenderer.invoke(Invoke.readTransfer, {
        token: wire.transfer,
        index,
        offset,
      });
      const chunk = ArrayBuffer.isView(reply)
        ? new Uint8Array(reply.buffer, reply.byteOffset, reply.byteLength)
        : new Uint8Array(reply);
      if (chunk.byteLength === 0 || offset + chunk.byteLength > f.size)
        throw new Error(`${wire.name}: ${f.path} arrived with the wrong size`);
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    files.push({ path: f.path, bytes: bytes.buffer });
  }
  return { name: wire.name, files };
}

const explorer: ExplorerApi = {
  openImageDialog: () => ipcRenderer.invoke(Invoke.openImageDialog),
  async openModelDialog() {
    const wire: WireModel | null = await ipcRenderer.invoke(Invoke.openModelDialog);
    return wire && assemble(wire);
  },
  recentList: () => ipcRenderer.invoke(Invoke.recentList),
  async recentOpen(id: number) {
    const result: WireRecentOpenResult = await ipcRenderer.invoke(Invoke.recentOpen, id);
    return result?.kind === 'model' ? { kind: 'model', model: await assemble(result.model) } : result;
  },
  findWeights: () => ipcRenderer.invoke(Invoke.findWeights),
  foundWeights: () => ipcRenderer.invoke(Invoke.foundWeights),
  async openFoundWeights(id: number) {
    const result: WireRecentOpenResult = await ipcRenderer.invoke(Invoke.openFoundWeights, id);
    return result?.kind === 'model' ? { kind: 'model', model: await assemble(result.model) } : result;
  },
  appInfo: () => ipcRenderer.invoke(Invoke.appInfo),
  restartEngine: (request?: RestartEngineRequest) =>
    request === undefined
      ? ipcRenderer.invoke(Invoke.restartEngine)
      : ipcRenderer.invoke(Invoke.restartEngine, request),
  connectEngine: (clientId: number) => ipcRenderer.invoke(Invoke.connectEngine, { clientId }),
  releaseEngine: (clientId: number) => ipcRenderer.invoke(Invoke.releaseEngine, { clientId }),
  engineStatus: () => ipcRenderer.invoke(Invoke.engineStatus),
  onEngineStatus: (cb: (status: EngineStatus) => void) => subscribe(Push.engineStatus, cb),
  onMenu: (cb: (command: MenuCommand) => void) => subscribe(Push.menu, cb),
  onOpenRecent: (cb: (id: number) => void) => subscribe(Push.openRecent, cb),
};

ipcRenderer.on(Push.enginePort, (event, message: unknown) => {
  // event.ports holds the transferred port; the page takes it from the message event (bridge/electron.ts),
  // together with the id of the client it is for.
  const { clientId, engine } = (message ?? {}) as { clientId?: unknown; engine?: unknown };
  if (event.ports.length === 0 || typeof clientId !== 'number' || typeof engine !== 'number') return;
  const data: PagePortMessage = { type: PORT_MESSAGE, clientId, engine };
  window.postMessage(data, '*', [...event.ports]);
});

contextBridge.exposeInMainWorld('explorer', explorer);
