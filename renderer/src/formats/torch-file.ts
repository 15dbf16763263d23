/**
 * PyTorch checkpoint reader (`.pth` / `.pt`, what `torch.save(model.state_dict(), f)` writes) that never
 * executes anything.
 *
 * A torch file is a Python pickle (see pickle.ts: a restricted unpickler with an allow-list of globals)
 * plus the raw bytes of each tensor's storage, in one of two containers:
 * - zip (torch ≥ 1.6): `<archive>/data.pkl` is the pickle; its persistent ids
 *   `('storage', torch.FloatStorage, key, location, numel)` name records `<archive>/data/<key>`. torch writes
 *   every record STORED and 64-byte aligned, so float32 tensors are zero-copy views of the file's bytes.
 *   The central directory is read here (fflate's unzipSync would copy every entry); fflate only inflates
 *   a DEFLATED record, should another tool have re-zipped the file.
 * - legacy (`_use_new_zipfile_serialization=False`, and torch < 1.6): pickles of the magic number, the
 *   protocol version and the system info, then the object pickle whose persistent ids are
 *   `('storage', type, key, location, numel, view_metadata)`, a pickle of the storage keys, and per key
 *   an int64 element count and the raw little-endian data.
 */
import { inflateSync } from 'fflate';
import { InputError } from '../../../common/image-header';
import { PickleDict, PickleGlobal, refuseGlobal, safeBuiltinGlobal, unpickle } from './pickle';

/** One tensor of a state dict, converted to float32. */
export interface TorchTensor {
  /** torch dtype name as stored: 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool' … */
  dtype: string;
  shape: number[];
  /** Values as float32 in C (row-major) order of `shape` (strides and storage offset applied; float16/bfloat16/float64/int* converted). Zero-copy view into the file bytes when the storage is float32, contiguous and 4-byte aligned. */
  values: Float32Array;
}

/** A state dict read from a torch file. */
export interface TorchStateDict {
  /** Parameter/buffer name → tensor, in the file's order. */
  tensors: Map<string, TorchTensor>;
  /** 'zip' (torch >= 1.6 default) or 'legacy' (torch.save(..., _use_new_zipfile_serialization=False)). */
  container: 'zip' | 'legacy';
  /** Where inside the pickle the state dict was found: '' for the top level, 'state_dict' / 'model' / 'model_state_dict' / 'net' for the usual checkpoint wrappers. */
  path: string;
}

/** The checkpoint-wrapper keys tried, in order, when the top level is not itself a state dict. */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model', 'net'];

/** Largest element count of one tensor (typed-array lengths and the IR stay in int32). */
const MAX_ELEMENTS = 2 ** 31;

/** `torch.<X>Storage` → dtype and bytes per element. */
const STORAGE_TYPES: Record<string, { dtype: string; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

/** The legacy format's first pickle: torch.serialization.MAGIC_NUMBER. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The legacy format's second pickle: torch.serialization.PROTOCOL_VERSION. */
const LEGACY_PROTOCOL = 1001;

/** A storage named by a persistent id; `bytes` is filled in once its record is found. */
class StorageRef {
  bytes: Uint8Array | undefined;
  constructor(
    readonly key: string,
    readonly dtype: string,
    readonly itemSize: number,
    readonly numel: number,
    /** Big-endian data (a zip's `byteorder` record says "big"). */
    public bigEndian = false,
  ) {}
}

/** What `_rebuild_tensor_v2` describes: a view of a storage. Materialized after the whole pickle is read. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Globals refused with a message of their own: other tensor layouts and element types. */
function refusedTensorKind(module: string, name: string): string | undefined {
  const q = `${module}.${name}`;
  if (q === 'torch._utils._rebuild_qtensor' || /^Q(U?Int8|Int32|UInt[24]x4)Storage$/.test(name))
    return `holds a quantized tensor (${q}); only float and integer tensors are read — save tensor.dequantize() instead`;
  if (/^torch\._utils\._rebuild_sparse/.test(q) || q === 'torch.serialization._get_layout')
    return `holds a sparse tensor (${q}); only dense (strided) tensors are read — save tensor.to_dense() instead`;
  if (module === 'torch._utils' && /^_rebuild_(meta|nested|wrapper|xla|mlc|device|mps)/.test(name))
    return `holds a tensor of a layout or device this reader does not support (${q}); save dense CPU tensors instead`;
  if (module === 'torch' && /^Complex(Float|Double)Storage$/.test(name))
    return `holds a complex tensor (${q}); only real tensors are read`;
  if (module === 'torch' && /Storage$/.test(name) && name !== 'UntypedStorage')
    return `holds a tensor of an element type this reader does not support (${q})`;
  return undefined;
}

/** A global that is a model or layer class: `torch.save(model)` pickles the module objects themselves. */
function isModelClass(module: string, name: string): boolean {
  return (
    /^(torch\.nn|torchvision|timm|__torch__|torch\.ao\.nn|torch\.jit)(\.|$)/.test(module) ||
    (/^[A-Z]/.test(name) && (module === '__main__' || /(^|\.)(models?|nets?|networks?|modules?)(\.|$)/.test(module)))
  );
}

/** The allow-list: OrderedDict and friends (pickle.ts), the tensor rebuilders, the storage types, torch.Size. */
function torchGlobals(fileName: string): (module: string, name: string) => PickleGlobal {
  const bad = (what: string): never => {
    throw new InputError(`${fileName}: damaged tensor record in the pickle (${what})`, fileName);
  };
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every(isInt)) return bad(`${what} is not a tuple of integers`);
    return v as number[];
  };
  const rebuild = (args: unknown[], q: string): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) return bad(`${q} without a storage`);
    if (!isInt(offset) || offset < 0) return bad(`storage offset ${String(offset)} is not a non-negative integer`);
    const shape = ints(size, 'the shape');
    const strides = ints(stride, 'the stride');
    if (shape.length !== strides.length) bad(`shape (${shape}) and stride (${strides}) differ in length`);
    return new TensorRef(storage, offset, shape, strides);
  };
  const tensorArg = (args: unknown[], q: string): TensorRef =>
    args[0] instanceof TensorRef ? args[0] : bad(`${q} of something that is not a tensor`);
  return (module, name) => {
    const safe = safeBuiltinGlobal(fileName, module, name);
    if (safe) return safe;
    const q = `${module}.${name}`;
    switch (q) {
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        return new PickleGlobal(module, name, (args) => rebuild(args, q));
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return new PickleGlobal(module, name, (args) => tensorArg(args, q));
      case 'torch.Size':
        return new PickleGlobal(module, name, (args) => (args.length === 0 ? [] : ints(args[0], 'torch.Size')));
    }
    if (module === 'torch' && STORAGE_TYPES[name])
      return new PickleGlobal(module, name, undefined, STORAGE_TYPES[name]);
    const kind = refusedTensorKind(module, name);
    if (kind) throw new InputError(`${fileName}: ${kind}`, fileName);
    if (isModelClass(module, name))
      throw new InputError(
        `${fileName}: holds a whole pickled model (class ${q}), not a state_dict; save \`model.state_dict()\` instead — unpickling a model would run its code`,
        fileName,
      );
    return refuseGlobal(fileName, module, name);
  };
}

/** Parses a persistent id `('storage', type, key, location, numel[, view_metadata])`. */
function parseStoragePid(pid: unknown, fileName: string) {
  const bad = (what: string): never => {
    throw new InputError(`${fileName}: damaged storage reference in the pickle (${what})`, fileName);
  };
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return bad('not a storage tuple');
  const [, type, key, , numel, view] = pid as unknown[];
  if (!(type instanceof PickleGlobal) || !type.data) return bad('the storage type is not a torch storage class');
  if (typeof key !== 'string' && !isInt(key)) return bad('the storage key is not a string');
  if (!isInt(numel) || numel < 0) return bad(`storage size ${String(numel)} is not a non-negative integer`);
  const t = type.data as { dtype: string; size: number };
  return { key: String(key), dtype: t.dtype, size: t.size, numel, view: view ?? null };
}

// ---------------------------------------------------------------- zip container

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o + 4) * 2 ** 32 + u32(b, o);
const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const utf8 = new TextDecoder('utf-8');

/** Reads the central directory (zip64 aware). Throws a plain Error with the problem; callers add the file name. */
function readCentralDirectory(b: Uint8Array): ZipEntry[] {
  const n = b.length;
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 0xffff); i--)
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x05 && b[i + 3] === 0x06) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new Error('the zip archive is truncated (its central directory at the end is missing)');
  let count = u16(b, eocd + 10);
  let cdSize = u32(b, eocd + 12);
  let cdOffset = u32(b, eocd + 16);
  // zip64: torch (miniz) always writes the zip64 end record and locator just before the classic one.
  const loc = eocd - 20;
  if (loc >= 0 && u32(b, loc) === 0x07064b50) {
    const z64 = u64(b, loc + 8);
    if (z64 + 56 > n || u32(b, z64) !== 0x06064b50) throw new Error('the zip64 end record is damaged');
    count = u64(b, z64 + 32);
    cdSize = u64(b, z64 + 40);
    cdOffset = u64(b, z64 + 48);
  }
  if (cdOffset + cdSize > n)
    throw new Error('the zip archive is truncated (its central directory points past the end)');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > n || u32(b, p) !== 0x02014b50) throw new Error('the zip central directory is damaged');
    const flags = u16(b, p + 8);
    const method = u16(b, p + 10);
    let compressedSize = u32(b, p + 20);
    let size = u32(b, p + 24);
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    let localOffset = u32(b, p + 42);
    const nameBytes = b.subarray(p + 46, p + 46 + nameLen);
    const name = flags & 0x800 ? utf8.decode(nameBytes) : latin1(nameBytes);
    // zip64 extra field (id 1): 8-byte values for exactly the fields stored as 0xFFFFFFFF, in this order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = u16(b, e);
      const len = u16(b, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(b, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(b, q);
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(b, q);
      }
      e += 4 + len;
    }
    if (flags & 1) throw new Error(`the zip record ${name} is encrypted`);
    entries.push({ name, method, compressedSize, size, localOffset });
    p = eEnd + commentLen;
  }
  return entries;
}

/** An entry's bytes: a subarray of the file when STORED (no copy), inflated by fflate when DEFLATED. */
function entryBytes(b: Uint8Array, e: ZipEntry, fileName: string): Uint8Array {
  const bad = (what: string): never => {
    throw new InputError(`${fileName}: the zip record ${e.name} ${what}`, fileName);
  };
  const o = e.localOffset;
  if (o + 30 > b.length || u32(b, o) !== 0x04034b50) bad('has no valid local header — the file is damaged');
  const start = o + 30 + u16(b, o + 26) + u16(b, o + 28);
  if (start + e.compressedSize > b.length) bad('runs past the end of the file — the file is truncated');
  const raw = b.subarray(start, start + e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method === 8) {
    try {
      const out = inflateSync(raw, { out: new Uint8Array(e.size) });
      if (out.length !== e.size) bad('inflates to fewer bytes than the archive says');
      return out;
    } catch (err) {
      if (err instanceof InputError) throw err;
      return bad(`cannot be inflated (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return bad(`uses zip compression method ${e.method}; only stored and deflated records are read`);
}

/** The name of the first local file header (for a zip whose central directory is gone). */
function firstLocalName(b: Uint8Array): string {
  if (!isZip(b) || b.length < 30) return '';
  const len = u16(b, 26);
  return latin1(b.subarray(30, Math.min(b.length, 30 + len)));
}

function readZip(bytes: Uint8Array, fileName: string): unknown {
  let entries: ZipEntry[];
  try {
    entries = readCentralDirectory(bytes);
  } catch (e) {
    throw new InputError(`${fileName}: ${(e as Error).message}`, fileName);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const pkl = entries.find((e) => /^([^/]+\/)?data\.pkl$/.test(e.name));
  if (!pkl) {
    const hint = entries.some((e) => e.name.endsWith('.pkl') || e.name.includes('/data/'))
      ? 'it has no data.pkl record — the file is damaged or incomplete'
      : 'it is a zip archive without a data.pkl record, so not a torch.save file';
    throw new InputError(`${fileName}: not a PyTorch checkpoint — ${hint}`, fileName);
  }
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  if (byName.has(`${prefix}constants.pkl`) || entries.some((e) => e.name.startsWith(`${prefix}code/`)))
    throw new InputError(
      `${fileName}: is a TorchScript archive (torch.jit.save), whose pickle holds a whole model and its code, not a state_dict; save \`model.state_dict()\` with torch.save instead`,
      fileName,
    );
  const orderEntry = byName.get(`${prefix}byteorder`);
  const bigEndian = orderEntry ? latin1(entryBytes(bytes, orderEntry, fileName)).trim() === 'big' : false;
  const storages = new Map<string, StorageRef>();
  const value = unpickle(entryBytes(bytes, pkl, fileName), {
    fileName,
    findGlobal: torchGlobals(fileName),
    persistentLoad: (pid) => {
      const s = parseStoragePid(pid, fileName);
      let ref = storages.get(s.key);
      if (!ref) {
        ref = new StorageRef(s.key, s.dtype, s.size, s.numel, bigEndian);
        const rec = byName.get(`${prefix}data/${s.key}`);
        if (!rec)
          throw new InputError(
            `${fileName}: the pickle refers to storage ${s.key}, but the archive has no record ${prefix}data/${s.key} — the file is damaged`,
            fileName,
          );
        ref.bytes = entryBytes(bytes, rec, fileName);
        storages.set(s.key, ref);
      }
      return ref;
    },
  }).value;
  return value;
}

// ---------------------------------------------------------------- legacy container

function legacyMagic(bytes: Uint8Array, fileName: string): number | undefined {
  try {
    const r = unpickle(bytes, { fileName, limits: { opcodes: 16 } });
    return r.value === LEGACY_MAGIC ? r.end : undefined;
  } catch {
    return undefined;
  }
}

function readLegacy(bytes: Uint8Array, fileName: string, afterMagic: number, inPlace: boolean): unknown {
  const proto = unpickle(bytes, { fileName, offset: afterMagic, limits: { opcodes: 16 } });
  if (proto.value !== LEGACY_PROTOCOL)
    throw new InputError(
      `${fileName}: is a legacy torch file of protocol version ${String(proto.value)}; only version ${LEGACY_PROTOCOL} is read`,
      fileName,
    );
  const sysInfo = unpickle(bytes, { fileName, offset: proto.end, limits: { opcodes: 1000 } });
  const littleEndian = sysInfo.value instanceof PickleDict ? sysInfo.value.entries.get('little_endian') : undefined;
  const bigEndian = littleEndian === false;

  const storages = new Map<string, StorageRef>();
  const views: { ref: StorageRef; root: string; offset: number }[] = [];
  const obj = unpickle(bytes, {
    fileName,
    offset: sysInfo.end,
    findGlobal: torchGlobals(fileName),
    persistentLoad: (pid) => {
      const s = parseStoragePid(pid, fileName);
      let root = storages.get(s.key);
      if (!root) {
        root = new StorageRef(s.key, s.dtype, s.size, s.numel, bigEndian);
        storages.set(s.key, root);
      }
      // Storage views (torch < 1.x): (view_key, offset, size) into the root storage.
      if (Array.isArray(s.view)) {
        const [vkey, off, size] = s.view as unknown[];
        if (!isInt(off) || !isInt(size) || off < 0 || size < 0)
          throw new InputError(`${fileName}: damaged storage view ${String(vkey)} in the pickle`, fileName);
        const ref = new StorageRef(`${s.key}[${off}:]`, s.dtype, s.size, size, bigEndian);
        views.push({ ref, root: s.key, offset: off });
        return ref;
      }
      return root;
    },
  });
  const keys = unpickle(bytes, { fileName, offset: obj.end });
  if (!Array.isArray(keys.value)) throw new InputError(`${fileName}: the legacy storage key list is damaged`, fileName);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keys.end;
  for (const k of keys.value) {
    const ref = storages.get(String(k));
    if (!ref)
      throw new InputError(
        `${fileName}: the legacy storage list names ${String(k)}, which the pickle never uses`,
        fileName,
      );
    if (p + 8 > bytes.length)
      throw new InputError(`${fileName}: storage ${ref.key} is missing — the file is truncated`, fileName);
    const lo = dv.getUint32(p, !bigEndian);
    const hi = dv.getUint32(p + 4, !bigEndian);
    const numel = bigEndian ? lo * 2 ** 32 + hi : hi * 2 ** 32 + lo;
    if (numel !== ref.numel)
      throw new InputError(
        `${fileName}: storage ${ref.key} holds ${numel} elements but the pickle says ${ref.numel} — the file is damaged`,
        fileName,
      );
    const n = numel * ref.itemSize;
    if (p + 8 + n > bytes.length)
      throw new InputError(
        `${fileName}: storage ${ref.key} runs past the end of the file — the file is truncated`,
        fileName,
      );
    // Legacy data starts wherever the pickles ended, so it is rarely aligned for a typed-array view. With
    // inPlace, move it back by up to 7 bytes into its own (already read) 8-byte size field instead of copying.
    let start = p + 8;
    const misaligned = ref.itemSize > 1 ? (bytes.byteOffset + start) % ref.itemSize : 0;
    if (inPlace && misaligned) {
      bytes.copyWithin(start - misaligned, start, start + n);
      start -= misaligned;
    }
    ref.bytes = bytes.subarray(start, start + n);
    p += 8 + n;
  }
  for (const v of views) {
    const root = storages.get(v.root)!;
    if (!root.bytes || v.offset + v.ref.numel > root.numel)
      throw new InputError(`${fileName}: storage view ${v.ref.key} lies outside its storage`, fileName);
    v.ref.bytes = root.bytes.subarray(v.offset * root.itemSize, (v.offset + v.ref.numel) * root.itemSize);
  }
  return obj.value;
}

// ---------------------------------------------------------------- tensors

/** float16 → float32 for all 65 536 bit patterns (exact: every half is a float), built on first use. */
function buildHalfTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
}

let halfTable: Float32Array | undefined;
const half = () => (halfTable ??= buildHalfTable());

type Elements =
  Float32Array | Float64Array | Uint16Array | Int16Array | Int32Array | Int8Array | Uint8Array | BigInt64Array;

/**
 * Elements `first`..`last` of a storage as a typed array indexed from 0: a view of the file's bytes when
 * they are aligned and little-endian, else a copy of just that span (byte-swapped for a big-endian file).
 */
function storageSpan(ref: StorageRef, first: number, last: number): { src: Elements; copied: boolean } {
  const k = ref.itemSize;
  const n = last - first + 1;
  let b = ref.bytes!.subarray(first * k, (last + 1) * k);
  let copied = false;
  if (ref.bigEndian && k > 1) {
    b = b.slice();
    for (let i = 0; i < b.length; i += k) b.subarray(i, i + k).reverse();
    copied = true;
  } else if (b.byteOffset % k !== 0) {
    b = b.slice();
    copied = true;
  }
  const buf = b.buffer;
  const o = b.byteOffset;
  const typed: Record<string, () => Elements> = {
    float32: () => new Float32Array(buf, o, n),
    float64: () => new Float64Array(buf, o, n),
    float16: () => new Uint16Array(buf, o, n),
    bfloat16: () => new Uint16Array(buf, o, n),
    int16: () => new Int16Array(buf, o, n),
    int64: () => new BigInt64Array(buf, o, n),
    int32: () => new Int32Array(buf, o, n),
    int8: () => new Int8Array(buf, o, n),
  };
  return { src: (typed[ref.dtype] ?? (() => new Uint8Array(buf, o, n)))(), copied };
}

/**
 * Counts the float32 elements allocated for tensors that cannot be views of the file: a few bytes of pickle
 * can describe a huge view of a one-element storage (stride 0), so conversions are capped relative to the
 * file's size (float16 → float32 of a whole file, with tied weights, stays far below the cap).
 */
interface CopyBudget {
  left: number;
}

function materialize(name: string, t: TensorRef, fileName: string, budget: CopyBudget): TorchTensor {
  const { storage: s, offset, shape, stride } = t;
  const bad = (what: string): never => {
    throw new InputError(`${fileName}: tensor ${name} ${what}`, fileName);
  };
  let numel = 1;
  for (const d of shape) {
    if (d < 0) bad(`has a negative dimension in its shape (${shape.join(', ')})`);
    numel *= d;
  }
  if (numel > MAX_ELEMENTS) bad(`has ${numel} elements, more than 2^31`);
  if (stride.some((x) => x < 0)) bad(`has a negative stride (${stride.join(', ')})`);
  if (!s.bytes || s.bytes.length < s.numel * s.itemSize)
    bad(`uses storage ${s.key}, whose data holds ${s.bytes?.length ?? 0} bytes instead of ${s.numel * s.itemSize}`);
  const out = { dtype: s.dtype, shape: [...shape] };
  if (numel === 0) return { ...out, values: new Float32Array(0) };
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  if (last >= s.numel)
    bad(
      `reads element ${last} of storage ${s.key}, which has only ${s.numel} (offset ${offset}, shape (${shape.join(', ')}), stride (${stride.join(', ')}))`,
    );
  // C-contiguous: every dimension of size > 1 has the row-major stride.
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  const viewable = contiguous && s.dtype === 'float32' && !s.bigEndian;
  if (!viewable || (s.bytes!.byteOffset + offset * 4) % 4 !== 0) {
    budget.left -= numel;
    if (budget.left < 0)
      bad(
        `expands a small storage into ${numel} elements (shape (${shape.join(', ')}), stride (${stride.join(', ')})), more than the file's size can hold — refusing it as a memory bomb`,
      );
  }
  const { src, copied } = storageSpan(s, offset, last);
  // float32 and contiguous: the span is the tensor — a view of the file, or the one copy an unaligned one needs.
  if (contiguous && src instanceof Float32Array)
    return { ...out, values: copied ? src : new Float32Array(src.buffer, src.byteOffset, numel) };
  const values = new Float32Array(numel);
  if (s.dtype === 'float16') {
    const h = half();
    const u = src as Uint16Array;
    if (contiguous) for (let j = 0; j < numel; j++) values[j] = h[u[j]];
    else gather(shape, stride, (j, i) => (values[j] = h[u[i]]));
  } else if (s.dtype === 'bfloat16') {
    // A bfloat16 is the top half of a float32: widen the bits.
    const bits = new Uint32Array(values.buffer);
    const u = src as Uint16Array;
    if (contiguous) for (let j = 0; j < numel; j++) bits[j] = u[j] << 16;
    else gather(shape, stride, (j, i) => (bits[j] = u[i] << 16));
  } else if (src instanceof BigInt64Array) {
    if (contiguous) for (let j = 0; j < numel; j++) values[j] = Number(src[j]);
    else gather(shape, stride, (j, i) => (values[j] = Number(src[i])));
  } else if (contiguous)
    values.set(src); // the typed-array conversion rounds to nearest float32
  else gather(shape, stride, (j, i) => (values[j] = src[i]));
  return { ...out, values };
}

/** Visits every element in C order: `f(outputIndex, spanIndex)`, the span starting at the tensor's offset. */
function gather(shape: number[], stride: number[], f: (j: number, i: number) => void) {
  const r = shape.length;
  if (r === 0) return f(0, 0);
  const idx = new Array<number>(r).fill(0);
  const inner = shape[r - 1];
  const innerStride = stride[r - 1];
  let base = 0;
  let j = 0;
  for (;;) {
    for (let k = 0, i = base; k < inner; k++, i += innerStride) f(j++, i);
    let d = r - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// ---------------------------------------------------------------- state dict

const tensorEntries = (d: PickleDict) => [...d.entries].filter(([, v]) => v instanceof TensorRef);

function describe(v: unknown): string {
  if (v instanceof PickleDict) {
    const keys = [...v.entries.keys()].slice(0, 8).map(String);
    return `a dict with keys ${keys.join(', ')}${v.entries.size > 8 ? ', …' : ''}`;
  }
  if (v instanceof TensorRef) return 'a single tensor';
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length} items`;
  return `a ${v === null ? 'None' : typeof v} value`;
}

function findStateDict(root: unknown, fileName: string): { dict: PickleDict; path: string } {
  const isSd = (v: unknown): v is PickleDict => v instanceof PickleDict && tensorEntries(v).length > 0;
  if (root instanceof PickleDict) {
    for (const k of WRAPPER_KEYS) {
      const v = root.entries.get(k);
      if (isSd(v)) return { dict: v, path: k };
    }
    if (isSd(root)) return { dict: root, path: '' };
  }
  throw new InputError(
    `${fileName}: holds no state_dict (no dict of tensors at the top level or under ${WRAPPER_KEYS.join(' / ')}); it holds ${describe(root)}`,
    fileName,
  );
}

/** True when bytes look like a torch file (zip with a data.pkl record, or the legacy magic-number pickle). Never throws. */
export function isTorchFile(bytes: Uint8Array): boolean {
  try {
    if (isZip(bytes)) {
      const isPkl = (n: string) => /^([^/]+\/)?data\.pkl$/.test(n);
      if (isPkl(firstLocalName(bytes))) return true;
      return readCentralDirectory(bytes).some((e) => isPkl(e.name));
    }
    // The magic number's pickle: PROTO 2, LONG1 (torch's default), or protocol 1's text LONG.
    return legacyMagic(bytes, '') !== undefined;
  } catch {
    return false;
  }
}

/** Options for {@link readTorchStateDict}. */
export interface ReadTorchOptions {
  /**
   * The caller hands `bytes` over (it read the file for this call only): a legacy-format file's storages may
   * then be moved by a few bytes inside `bytes` so that every float32 tensor is a view rather than a copy
   * (peak memory stays about the file size; without it, misaligned legacy storages are copied). `bytes` is
   * modified and cannot be read again. No effect on zip files, whose records torch aligns itself.
   */
  inPlace?: boolean;
}

/** Reads a state dict; throws InputError(`${fileName}: <problem>`, fileName) for anything else. */
export function readTorchStateDict(
  bytes: Uint8Array,
  fileName: string,
  options: ReadTorchOptions = {},
): TorchStateDict {
  let root: unknown;
  let container: 'zip' | 'legacy';
  if (isZip(bytes)) {
    container = 'zip';
    root = readZip(bytes, fileName);
  } else {
    const afterMagic = legacyMagic(bytes, fileName);
    if (afterMagic === undefined && bytes.length > 262 && latin1(bytes.subarray(257, 262)) === 'ustar')
      throw new InputError(
        `${fileName}: is a tar archive — the torch format before 0.4 (or not a torch file at all); load it in PyTorch and save model.state_dict() again with a current version`,
        fileName,
      );
    if (afterMagic === undefined)
      throw new InputError(
        `${fileName}: not a PyTorch file (neither a torch.save zip archive nor a legacy torch pickle with its magic number)`,
        fileName,
      );
    container = 'legacy';
    root = readLegacy(bytes, fileName, afterMagic, options.inPlace ?? false);
  }
  const { dict, path } = findStateDict(root, fileName);
  const tensors = new Map<string, TorchTensor>();
  const budget: CopyBudget = { left: 2 * bytes.length + 2 ** 24 };
  for (const [k, v] of tensorEntries(dict)) {
    const name = String(k);
    tensors.set(name, materialize(name, v as TensorRef, fileName, budget));
  }
  return { tensors, container, path };
}
