import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_OPEN_TRANSFERS, TransferStore } from '../../main/transfers';
import type { ModelFilesPayload } from '../../common/ipc-contract';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill).buffer;
const model = (...sizes: number[]): ModelFilesPayload => ({
  name: 'net',
  files: sizes.map((n, i) => ({ path: `f${i}.bin`, bytes: bytes(n, i + 1) })),
});

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('TransferStore', () => {
  it('sends a small model inline, with no transfer', () => {
    const store = new TransferStore(100, 10);
    const wire = store.toWire(model(40, 60), 7);
    expect(wire.transfer).toBeUndefined();
    expect(wire.files.map((f) => ('bytes' in f ? f.bytes.byteLength : -1))).toEqual([40, 60]);
    expect(store.size).toBe(0);
  });

  it('names the files past the inline budget by size and serves them in chunks, once, to their owner only', () => {
    const store = new TransferStore(50, 16);
    const wire = store.toWire(model(40, 35, 5), 7);
    expect(wire.files).toEqual([
      { path: 'f0.bin', bytes: expect.any(ArrayBuffer) },
      { path: 'f1.bin', size: 35 },
      { path: 'f2.bin', bytes: expect.any(ArrayBuffer) },
    ]);
    const token = wire.transfer!;
    expect(() => store.read(8, { token, index: 1, offset: 0 })).toThrow(/never made for this window/);
    expect(() => store.read(7, { token, index: 0, offset: 0 })).toThrow(/no file 0 left/);
    expect(() => store.read(7, { token, index: 1, offset: 35 })).toThrow(/past the end/);
    const chunks = [0, 16, 32].map((offset) => store.read(7, { token, index: 1, offset }).byteLength);
    expect(chunks).toEqual([16, 16, 3]);
    // Read to the end: the transfer is gone.
    expect(store.size).toBe(0);
    expect(() => store.read(7, { token, index: 1, offset: 0 })).toThrow(/over/);
  });

  it('drops a transfer left unread, and all of a window that closed', () => {
    const store = new TransferStore(0, 16, 1000);
    const a = store.toWire(model(20), 7).transfer!;
    store.read(7, { token: a, index: 0, offset: 0 });
    vi.advanceTimersByTime(999);
    expect(store.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(store.size).toBe(0);
    store.toWire(model(20), 7);
    store.toWire(model(20), 8);
    store.dropOwner(7);
    expect(store.size).toBe(1);
  });

  it('limits the transfers one window may have open', () => {
    const store = new TransferStore(0, 16);
    for (let i = 0; i < MAX_OPEN_TRANSFERS; i++) store.toWire(model(20), 7);
    expect(() => store.toWire(model(20), 7)).toThrow(/net: too many models are still being sent/);
    expect(() => store.toWire(model(20), 8)).not.toThrow();
  });
});
