/**
 * Frame buffers handed back by the UI once it has drawn them (protocol `recycle`), reused for the next pass's
 * frames of the same size: a pass then allocates no new byte arrays per layer (allocation and zero-filling cost a
 * Chromium worker ~12 ms per MobileNetV2 pass). Buffers are kept by exact byte length, a model's layers repeat
 * their sizes from pass to pass; the pool holds at most `maxBytes` and drops the rest.
 */
export class FramePool {
  private readonly bySize = new Map<number, ArrayBuffer[]>();
  private held = 0;

  constructor(private readonly maxBytes = 256 << 20) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  /** Takes back buffers (detached or empty ones are ignored). */
  put(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      const n = b.byteLength;
      if (n === 0 || this.held + n > this.maxBytes) continue;
      let list = this.bySize.get(n);
      if (!list) this.bySize.set(n, (list = []));
      if (list.includes(b)) continue;
      list.push(b);
      this.held += n;
    }
  }

  /** A buffer of exactly `bytes` as a Uint8Array, or undefined when none is pooled. Its contents are stale. */
  take(bytes: number): Uint8Array | undefined {
    const list = this.bySize.get(bytes);
    const b = list?.pop();
    if (!b) return undefined;
    this.held -= bytes;
    if (!list!.length) this.bySize.delete(bytes);
    return new Uint8Array(b);
  }

  /** Drops every buffer. */
  clear(): void {
    this.bySize.clear();
    this.held = 0;
  }
}
