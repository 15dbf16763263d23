import type { PortLike } from '../../../common/engine-protocol';
import type {
  EngineStatus,
  FoundWeights,
  MenuCommand,
  ModelFilesPayload,
  OpenedFile,
  RecentEntry,
  RecentOpenResult,
} from '../../../common/ipc-contract';

/**
 * The only part of the UI that differs between Electron and the browser build (DESIGN.md):
 * how the engine port is obtained and the host services (dialogs, recent files, menus).
 */
export interface HostBridge {
  readonly kind: 'electron' | 'web';
  /**
   * A new connection to the engine, of its own (one per client: the main view, each Compare session).
   * Electron: the returned port stays this client's across engine restarts (main sends a fresh one behind
   * it); calling again makes another client. Stop using a port by removing its message listener
   * (EngineClient.dispose) so the host can let it go.
   */
  connectEngine(): Promise<PortLike>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
  /**
   * Ends the engine (even one stuck in a synchronous loop) and starts a fresh one; resolves once the new one
   * can be connected to with `connectEngine()`. Ports handed out before go dead. The browser build terminates
   * its Worker; Electron asks main (`engine:restart`), which destroys and respawns the inference window.
   * `port`: the port whose engine looked dead; when that engine was already replaced (another client saw
   * the same hang first), nothing happens. Optional only while the Electron bridge catches up.
   */
  restartEngine?(reason: string, port?: PortLike): Promise<void>;
  /**
   * Null when the user cancels. Host services reject with an Error whose message names the file and the
   * reason (Electron: `HostServiceError` from bridge/electron.ts); callers must catch and show it.
   */
  openImages(): Promise<OpenedFile[] | null>;
  openModel(): Promise<ModelFilesPayload | null>;
  recent(): Promise<RecentEntry[]>;
  openRecent(id: number): Promise<RecentOpenResult>;
  onMenu(cb: (command: MenuCommand) => void): () => void;
  /** File ▸ Recent ▸ <entry> in the native menu (Electron only): open it with `openRecent(id)`. */
  onOpenRecent?(cb: (id: number) => void): () => void;
  /**
   * "Find weights on this computer…" (Electron only: a browser page cannot look into folders, so the browser
   * build offers the same files by drop). Searches torchvision's and Keras' caches only when called and
   * answers the remembered list; `foundWeights` answers it without searching; `openFoundWeights` opens one.
   */
  findWeights?(): Promise<FoundWeights[]>;
  foundWeights?(): Promise<FoundWeights[]>;
  openFoundWeights?(id: number): Promise<RecentOpenResult>;
  /** Base URL for bundled resources (models/, samples/). */
  readonly resourcesBase: string;
}
