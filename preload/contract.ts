/**
 * The IPC contract between main and the renderers: channel names and payload types (STYLE.md #5).
 * Imported by main, both preloads and the renderer; depends on nothing environment-specific.
 * Main validates every payload against a schema (main/ipc.ts); these types are the shapes it accepts.
 */

/** Channels the UI renderer may `invoke`; main answers each with one handler. */
export const Invoke = {
  openImageDialog: 'dialog:open-image',
  openModelDialog: 'dialog:open-model',
  recentList: 'recent:list',
  recentOpen: 'recent:open',
  /** Read files the user dropped on the window (paths from webUtils.getPathForFile). */
  readDropped: 'file:read-dropped',
  appInfo: 'app:info',
  /** The UI asks main to restart the engine (e.g. after a lost WebGL context it could not survive). */
  restartEngine: 'engine:restart',
  /**
   * The UI asks for a port to the engine; main answers with `Push.enginePort` as soon as the engine is
   * ready (at once when it already is). After an engine restart main sends a new port unasked.
   */
  connectEngine: 'engine:connect',
  /** The engine's current status (so a listener that subscribes late still learns it). */
  engineStatus: 'engine:get-status',
} as const;
export type InvokeChannel = (typeof Invoke)[keyof typeof Invoke];

/** Channels main sends to the UI renderer. */
export const Push = {
  /** Carries a MessagePort (in `ports`) connected to the engine worker. */
  enginePort: 'engine:port',
  engineStatus: 'engine:status',
  menu: 'menu:command',
  /** File ▸ Recent ▸ <entry>: carries the entry's id; the UI answers with `recentOpen(id)`. */
  openRecent: 'menu:open-recent',
} as const;

/** Channels between main and the hidden inference window. */
export const InferenceChannel = {
  /** main → inference: a MessagePort for the engine (one per UI connection). */
  port: 'inference:port',
  /** inference → main: the engine worker answered its first hello. */
  ready: 'inference:ready',
  /** inference → main: the worker died or the WebGL context was lost for good. */
  fatal: 'inference:fatal',
} as const;

/** The name used by both preloads to forward a transferred port into the page (window.postMessage). */
export const PORT_MESSAGE = 'feature-map-explorer:engine-port';

export interface OpenedFile {
  /** Base name only: renderers never see full paths of files they did not choose. */
  name: string;
  bytes: ArrayBuffer;
}

export interface ModelFilesPayload {
  name: string;
  files: { path: string; bytes: ArrayBuffer }[];
}

export interface RecentEntry {
  id: number;
  kind: 'image' | 'model';
  name: string;
  /** Shown to the user in the menu; main keeps the authoritative path. */
  path: string;
  openedAt: number;
}

export type RecentOpenResult =
  | { kind: 'image'; files: OpenedFile[] }
  | { kind: 'model'; model: ModelFilesPayload }
  | { kind: 'missing'; message: string };

export interface ReadDroppedRequest {
  paths: string[];
}

export type ReadDroppedResult =
  | { kind: 'images'; files: OpenedFile[]; errors: string[] }
  | { kind: 'model'; model: ModelFilesPayload; errors: string[] };

export interface AppInfo {
  name: string;
  version: string;
  electron: string;
  chrome: string;
  platform: string;
}

export type EngineStatus =
  | { state: 'starting' }
  | { state: 'ready' }
  | { state: 'restarting'; reason: string; attempt: number }
  | { state: 'failed'; reason: string };

export type MenuCommand =
  'open-image' | 'open-model' | 'about' | 'reset-view' | 'next-layer' | 'previous-layer' | 'toggle-theme' | 'compare';

/** What the UI preload exposes as `window.explorer` (STYLE.md #4: named functions, never ipcRenderer). */
export interface ExplorerApi {
  openImageDialog(): Promise<OpenedFile[] | null>;
  openModelDialog(): Promise<ModelFilesPayload | null>;
  recentList(): Promise<RecentEntry[]>;
  recentOpen(id: number): Promise<RecentOpenResult>;
  /** Full paths of dropped File objects, via webUtils.getPathForFile, read by main. */
  readDropped(files: File[]): Promise<ReadDroppedResult>;
  appInfo(): Promise<AppInfo>;
  restartEngine(): Promise<void>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
  onMenu(cb: (command: MenuCommand) => void): () => void;
  /** Ask main for an engine port (delivered through `window.postMessage(PORT_MESSAGE)`, see bridge/electron.ts). */
  connectEngine?(): Promise<void>;
  /** The engine's current status. */
  engineStatus?(): Promise<EngineStatus>;
  /** File ▸ Recent ▸ <entry> was chosen; `id` is the entry to pass to `recentOpen`. */
  onOpenRecent?(cb: (id: number) => void): () => void;
}

/** What the inference window's preload exposes as `window.inferenceHost`. */
export interface InferenceHostApi {
  /** The engine worker answered its first hello; `backend` names the tfjs backend it chose (for the log). */
  ready(backend?: string): void;
  /** The worker died or its WebGL context was lost for good; main restarts the inference window. */
  fatal(reason: string): void;
}
