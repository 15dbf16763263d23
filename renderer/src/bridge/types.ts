import type { PortLike } from '../engine/protocol';
import type {
  EngineStatus,
  MenuCommand,
  ModelFilesPayload,
  OpenedFile,
  RecentEntry,
  RecentOpenResult,
} from '../../../preload/contract';

/**
 * The only part of the UI that differs between Electron and the browser build (DESIGN.md):
 * how the engine port is obtained and the host services (dialogs, recent files, menus).
 */
export interface HostBridge {
  readonly kind: 'electron' | 'web';
  /** A port to the engine. Resolves again (a new port) after an engine restart; see onEngineStatus. */
  connectEngine(): Promise<PortLike>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
  /** Null when the user cancels. */
  openImages(): Promise<OpenedFile[] | null>;
  openModel(): Promise<ModelFilesPayload | null>;
  recent(): Promise<RecentEntry[]>;
  openRecent(id: number): Promise<RecentOpenResult>;
  onMenu(cb: (command: MenuCommand) => void): () => void;
  /** File ▸ Recent ▸ <entry> in the native menu (Electron only): open it with `openRecent(id)`. */
  onOpenRecent?(cb: (id: number) => void): () => void;
  /** Base URL for bundled resources (models/, samples/). */
  readonly resourcesBase: string;
}
