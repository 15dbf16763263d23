/**
 * Large models cross IPC in pieces. One `invoke` reply is serialized whole, and Electron's serializer
 * fails on messages of about 512 MiB and more (electron/electron#53961), while a model may be up to
 * 2 GiB. So a reply carries small files inline and names the large ones by size; the UI preload then
 * pulls each large file in chunks (`file:read-transfer`) and hands the page whole ArrayBuffers. A
 * transfer belongs to the renderer it was made for, is read once, and expires when left unread.
 */
import { randomUUID } from 'node:crypto';
import type { ModelFilesPayload, TransferChunkRequest, WireModel } from '../common/ipc-contract';

/** Inline bytes one reply may carry; the rest goes in chunks. */
export const INLINE_BYTES = 64 * 1024 * 1024;
/** Bytes per chunk read. */
export const CHUNK_BYTES = 32 * 1024 * 1024;
/** A transfer nobody reads for this long is dropped (its memory freed). */
export const TRANSFER_IDLE_MS = 120_000;
/** Transfers one renderer may have open at once. */
export const MAX_OPEN_TRANSFERS = 4;

interface Transfer {
  owner: number;
  /** Chunked files by their index in the model's file list (removed once read to the end). */
  files: Map<number, ArrayBuffer>;
  timer: ReturnType<typeof setTimeout>;
}

/** Keeps the large files of models on their way to a renderer. */
export class TransferStore {
  private readonly transfers = new Map<string, Transfer>();

  constructor(
    private readonly inlineBytes = INLINE_BYTES,
    private readonly chunkBytes = CHUNK_BYTES,
    private readonly idleMs = TRANSFER_IDLE_MS,
  ) {}

  /**
   * The wire form of `model` for renderer `owner`: files inline while they fit in the inline budget (in
   * order), the others replaced by `{ path, size }` and kept here under a new token.
   */
  toWire(model: ModelFilesPayload, owner: number): WireModel {
    let inline = 0;
    const kept = new Map<number, ArrayBuffer>();
    const files = model.files.map((f, index) => {
      if (inline + f.bytes.byteLength <= this.inlineBytes) {
        inline += f.bytes.byteLength;
        return { path: f.path, bytes: f.bytes };
      }
      kept.set(index, f.bytes);
      return { path: f.path, size: f.bytes.byteLength };
    });
    if (kept.size === 0) return { name: model.name, files };
    const open = [...this.transfers.values()].filter((t) => t.owner === owner).length;
    if (open >= MAX_OPEN_TRANSFERS) {
      throw new Error(`${model.name}: too many models are still being sent to this window; try again`);
    }
    const token = randomUUID();
    this.transfers.set(token, { owner, files: kept, timer: this.expiry(token) });
    return { name: model.name, files, transfer: token };
  }

  /** One chunk of a kept file, for its owner only. The file is let go once its last byte is read. */
  read(owner: number, request: TransferChunkRequest): ArrayBuffer {
    const t = this.transfers.get(request.token);
    if (!t || t.owner !== owner) throw new Error('that model transfer is over or was never made for this window');
    const file = t.files.get(request.index);
    if (!file) throw new Error(`the model transfer has no file ${request.index} left to read`);
    if (request.offset >= file.byteLength) {
      throw new Error(`offset ${request.offset} is past the end of file ${request.index} (${file.byteLength} bytes)`);
    }
    const end = Math.min(file.byteLength, request.offset + this.chunkBytes);
    const chunk = file.slice(request.offset, end);
    clearTimeout(t.timer);
    if (end === file.byteLength) t.files.delete(request.index);
    if (t.files.size === 0) this.transfers.delete(request.token);
    else t.timer = this.expiry(request.token);
    return chunk;
  }

  /** Drops every transfer of a renderer (its window closed). */
  dropOwner(owner: number): void {
    for (const [token, t] of this.transfers) {
      if (t.owner !== owner) continue;
      clearTimeout(t.timer);
      this.transfers.delete(token);
    }
  }

  /** Open transfers (for tests). */
  get size(): number {
    return this.transfers.size;
  }

  private expiry(token: string): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.transfers.delete(token), this.idleMs);
    timer.unref?.();
    return timer;
  }
}
