/**
 * The IPC contract between main and the renderers: channel names and payload types (STYLE.md #5).
 * Part of the pure common/ layer: imported by main, the preloads, the engine and the UI; imports none of them.
 * Main validates every payload against a schema (main/ipc.ts); these types are the shapes it accepts.
 */

/** Channels the UI renderer may `invoke`; main answers each with one handler. */
export const Invoke = {
  openImageDialog: 'dialog:open-image',
  openModelDialog: 'dialog:open-model',
  recentList: 'recent:list',
  recentOpen: 'recent:open',
  /**
   * `TransferChunkRequest`: the next chunk of a large model file that an `openModelDialog` / `recentOpen`
   * reply named by size (see WireModel); answered with an ArrayBuffer. The UI preload reassembles them.
   */
  readTransfer: 'file:read-transfer',
  appInfo: 'app:info',
  /** The UI asks main to restart the engine (e.g. after a lost WebGL context it could not survive). */
  restartEngine: 'engine:restart',
  /**
   * One engine client of the UI (`{ clientId }`, chosen by the bridge) asks for a port of its own; main
   * answers with `Push.enginePort` tagged with that id as soon as the engine is ready (at once when it
   * already is). After an engine restart main sends every live client a new port unasked.
   */
  connectEngine: 'engine:connect',
  /** `{ clientId }`: that client is done; main sends it no more ports. */
  releaseEngine: 'engine:release',
  /** The engine's current status (so a listener that subscribes late still learns it). */
  engineStatus: 'engine:get-status',
  /**
   * "Find weights on this computer…": main lists the pretrained files in torchvision's and Keras' caches
   * (only when the user asks), remembers them, and answers with the whole remembered list (FoundWeights[]).
   */
  findWeights: 'weights:find',
  /** The remembered list of found weight files, without searching again. */
  foundWeights: 'weights:list',
  /** Opens a found weight file by its id (like `recentOpen`): answers a WireRecentOpenResult. */
  openFoundWeights: 'weights:open',
} as const;
export type InvokeChannel = (typeof Invoke)[keyof typeof Invoke];

/** Channels main sends to the UI renderer. */
export const Push = {
  /** Carries a MessagePort (in `ports`) connected to the engine worker; the message is an {@link EnginePortMessage}. */
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

/**
 * The name used by both preloads to forward a transferred port into the page (window.postMessage). The
 * inference preload posts it as the message itself; the UI preload posts a {@link PagePortMessage}.
 */
export const PORT_MESSAGE = 'feature-map-explorer:engine-port';

/** Payload of `engine:connect` and `engine:release`. */
export interface EngineClientRequest {
  /** Chosen by the renderer's bridge; unique among its live clients. */
  clientId: number;
}

/** The message main sends with each engine port (`Push.enginePort`): whose port it is, to which engine. */
export interface EnginePortMessage {
  clientId: number;
  /** Number of the engine (inference window) the port leads to; 1 for the first, +1 per restart. */
  engine: number;
}

/** Payload of `engine:restart` (optional). */
export interface RestartEngineRequest {
  /** Why, for the status line and the log. */
  reason?: string;
  /** Restart only if this is still the current engine (see EnginePortMessage.engine). */
  engine?: number;
}

/** What the UI preload posts into the page with a port: `{ type: PORT_MESSAGE, clientId }`. */
export interface PagePortMessage extends EnginePortMessage {
  type: typeof PORT_MESSAGE;
}

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

/**
 * How a model crosses IPC (main → UI preload): small files inline, large ones named by size and pulled
 * in chunks under `transfer` (one reply is serialized whole, and very large replies fail). The preload
 * turns it back into a ModelFilesPayload; the page never sees this shape.
 */
export interface WireModel {
  name: string;
  files: ({ path: string; bytes: ArrayBuffer } | { path: string; size: number })[];
  transfer?: string;
}

/** `file:read-transfer` payload: file `index` of the model's list, from byte `offset`. */
export interface TransferChunkRequest {
  token: string;
  index: number;
  offset: number;
}

/** RecentOpenResult as it crosses IPC. */
export type WireRecentOpenResult =
  { kind: 'image'; files: OpenedFile[] } | { kind: 'model'; model: WireModel } | { kind: 'missing'; message: string };

export type RecentOpenResult =
  | { kind: 'image'; files: OpenedFile[] }
  | { kind: 'model'; model: ModelFilesPayload }
  | { kind: 'missing'; message: string };

/** A pretrained weight file found in a library's cache ("Find weights on this computer…"). */
export interface FoundWeights {
  id: number;
  /** The file's name (shown); main keeps the authoritative path. */
  name: string;
  /** Shown on hover, as Recent entries show theirs. */
  path: string;
  size: number;
  library: 'torchvision' | 'keras';
  /** What the cache's file name says the architecture is ("ResNet-50"), or null for another name. */
  architecture: string | null;
  /** "ResNet-50 — ImageNet (torchvision file)". */
  label: string;
}

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
  | 'open-image'
  | 'open-model'
  | 'find-weights'
  | 'about'
  | 'reset-view'
  | 'next-layer'
  | 'previous-layer'
  | 'toggle-theme'
  | 'compare'
  | 'edit-architecture';

/** What the UI preload exposes as `window.explorer` (STYLE.md #4: named functions, never ipcRenderer). */
export interface ExplorerApi {
  openImageDialog(): Promise<OpenedFile[] | null>;
  openModelDialog(): Promise<ModelFilesPayload | null>;
  recentList(): Promise<RecentEntry[]>;
  recentOpen(id: number): Promise<RecentOpenResult>;
  appInfo(): Promise<AppInfo>;
  restartEngine(request?: RestartEngineRequest): Promise<void>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
  onMenu(cb: (command: MenuCommand) => void): () => void;
  /**
   * Ask main for an engine port for client `clientId` (delivered through `window.postMessage` as a
   * {@link PagePortMessage}, see bridge/electron.ts); after each engine restart a new one comes unasked.
   */
  connectEngine(clientId: number): Promise<void>;
  /** Client `clientId` is done: main sends it no more ports. */
  releaseEngine(clientId: number): Promise<void>;
  /** The engine's current status. */
  engineStatus?(): Promise<EngineStatus>;
  /** File ▸ Recent ▸ <entry> was chosen; `id` is the entry to pass to `recentOpen`. */
  onOpenRecent?(cb: (id: number) => void): () => void;
  /** Searches torchvision's and Keras' caches now; the remembered list after the search. */
  findWeights?(): Promise<FoundWeights[]>;
  /** The remembered list of found weight files (no search). */
  foundWeights?(): Promise<FoundWeights[]>;
  /** Opens a found weight file by id. */
  openFoundWeights?(id: number): Promise<RecentOpenResult>;
}

/** What the inference window's preload exposes as `window.inferenceHost`. */
export interface InferenceHostApi {
  /** The engine worker answered its first hello; `backend` names the tfjs backend it chose (for the log). */
  ready(backend?: string): void;
  /** The worker died or its WebGL context was lost for good; main restarts the inference window. */
  fatal(reason: string): void;
}
