/**
 * The UI window's preload (sandboxed: it may only `require('electron')`). Exposes `window.explorer`, one
 * named function per contract message (STYLE.md #4) — never ipcRenderer itself — and forwards the engine
 * ports main sends into the page with `window.postMessage(PORT_MESSAGE, '*', [port])`, because
 * contextBridge cannot pass a MessagePort.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import {
  Invoke,
  PORT_MESSAGE,
  Push,
  type EngineStatus,
  type ExplorerApi,
  type MenuCommand,
  type ReadDroppedResult,
} from './contract';

/** Subscribes `cb` to a push channel; the page gets only the payload, never the IPC event. */
function subscribe<T>(channel: string, cb: (payload: T) => void): () => void {
  const listener = (_event: IpcRendererEvent, payload: T) => cb(payload);
  ipcRenderer.on(channel, listener);
  return () => {
    ipcRenderer.removeListener(channel, listener);
  };
}

const explorer: ExplorerApi = {
  openImageDialog: () => ipcRenderer.invoke(Invoke.openImageDialog),
  openModelDialog: () => ipcRenderer.invoke(Invoke.openModelDialog),
  recentList: () => ipcRenderer.invoke(Invoke.recentList),
  recentOpen: (id: number) => ipcRenderer.invoke(Invoke.recentOpen, id),
  async readDropped(files: File[]): Promise<ReadDroppedResult> {
    // Only real files from a drop or a file input have a path; main reads exactly these.
    const paths: string[] = [];
    const errors: string[] = [];
    for (const file of files) {
      const path = webUtils.getPathForFile(file);
      if (path) paths.push(path);
      else errors.push(`${file.name}: not a file on disk; it cannot be opened from here`);
    }
    if (paths.length === 0) return { kind: 'images', files: [], errors };
    const result: ReadDroppedResult = await ipcRenderer.invoke(Invoke.readDropped, { paths });
    return { ...result, errors: [...errors, ...result.errors] };
  },
  appInfo: () => ipcRenderer.invoke(Invoke.appInfo),
  restartEngine: () => ipcRenderer.invoke(Invoke.restartEngine),
  connectEngine: () => ipcRenderer.invoke(Invoke.connectEngine),
  engineStatus: () => ipcRenderer.invoke(Invoke.engineStatus),
  onEngineStatus: (cb: (status: EngineStatus) => void) => subscribe(Push.engineStatus, cb),
  onMenu: (cb: (command: MenuCommand) => void) => subscribe(Push.menu, cb),
  onOpenRecent: (cb: (id: number) => void) => subscribe(Push.openRecent, cb),
};

ipcRenderer.on(Push.enginePort, (event) => {
  // event.ports holds the transferred port; the page takes it from the message event (bridge/electron.ts).
  if (event.ports.length > 0) window.postMessage(PORT_MESSAGE, '*', [...event.ports]);
});

contextBridge.exposeInMainWorld('explorer', explorer);
