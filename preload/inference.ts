/**
 * The hidden inference window's preload (sandboxed). Forwards each engine port main sends into the page
 * (`window.postMessage(PORT_MESSAGE, '*', [port])`; contextBridge cannot pass ports), and exposes
 * `window.inferenceHost` for the page's ready handshake and fatal errors.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { InferenceChannel, PORT_MESSAGE, type InferenceHostApi } from '../common/ipc-contract';

ipcRenderer.on(InferenceChannel.port, (event) => {
  if (event.ports.length > 0) window.postMessage(PORT_MESSAGE, '*', [...event.ports]);
});

const inferenceHost: InferenceHostApi = {
  ready(backend?: string) {
    ipcRenderer.send(InferenceChannel.ready, typeof backend === 'string' ? backend.slice(0, 200) : undefined);
  },
  fatal(reason: string) {
    ipcRenderer.send(InferenceChannel.fatal, String(reason).slice(0, 2000) || 'unknown error');
  },
};

contextBridge.exposeInMainWorld('inferenceHost', inferenceHost);
