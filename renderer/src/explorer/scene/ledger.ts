/**
 * Explicit GPU ownership (STYLE.md #12): every texture, geometry, material and GPU-backed object the
 * scene creates is entered here with its kind and byte size, and freed through here. One ledger per
 * model (freed whole when the model is replaced) and one for the scene's long-lived resources.
 */

export type GpuKind = 'texture' | 'geometry' | 'material' | 'object';

/** Anything with a `dispose()` (three's textures, geometries, materials, InstancedMesh). */
export interface Disposable {
  dispose(): void;
}

export class GpuLedger {
  private readonly items = new Map<Disposable, { kind: GpuKind; bytes: number }>();
  private disposedCount = 0;

  /** Registers `item`; `bytes` is its GPU size where known (textures). Returns `item`. */
  track<T extends Disposable>(item: T, kind: GpuKind, bytes = 0): T {
    if (this.items.has(item)) throw new Error(`GpuLedger: the same ${kind} was tracked twice`);
    this.items.set(item, { kind, bytes });
    return item;
  }

  /** Updates the byte size of a tracked item (a texture re-used with new contents). */
  resize(item: Disposable, bytes: number): void {
    const entry = this.items.get(item);
    if (!entry) throw new Error('GpuLedger: resize of an item that is not tracked');
    entry.bytes = bytes;
  }

  /** Disposes one item now and forgets it. Unknown items are an error: they would leak silently. */
  release(item: Disposable | null | undefined): void {
    if (!item) return;
    if (!this.items.delete(item)) throw new Error('GpuLedger: release of an item that is not tracked');
    item.dispose();
    this.disposedCount++;
  }

  /** Disposes everything; returns how many items were freed. */
  releaseAll(): number {
    const n = this.items.size;
    for (const item of this.items.keys()) item.dispose();
    this.items.clear();
    this.disposedCount += n;
    return n;
  }

  has(item: Disposable): boolean {
    return this.items.has(item);
  }

  /** Items held, of one kind or all. */
  count(kind?: GpuKind): number {
    if (!kind) return this.items.size;
    let n = 0;
    for (const e of this.items.values()) if (e.kind === kind) n++;
    return n;
  }

  /** Bytes held by the tracked items (textures). */
  get bytes(): number {
    let n = 0;
    for (const e of this.items.values()) n += e.bytes;
    return n;
  }

  /** Items disposed through this ledger so far. */
  get disposed(): number {
    return this.disposedCount;
  }
}
