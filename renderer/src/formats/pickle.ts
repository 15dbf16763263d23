/**
 * A restricted Python unpickler (protocols 0–5) that never executes anything.
 *
 * A pickle is a program for a small stack machine whose GLOBAL / STACK_GLOBAL / INST opcodes name arbitrary
 * Python callables and whose REDUCE / NEWOBJ / OBJ / BUILD opcodes call them — that is how a `.pth` file can
 * run `os.system`. Here every global is resolved through an allow-list the caller supplies (`findGlobal`); a
 * name that is not on it stops the read at the opcode that names it, before anything could be called. The
 * "callables" on the list are small TypeScript functions that build plain data (dicts, tuples, tensor
 * descriptions), so unpickling a file is pure data parsing.
 *
 * Limits (opcodes, stack, memo, nesting depth, container items) make every file fail fast instead of hanging
 * or exhausting memory; values are never deep-copied, so a memo-sharing "billion laughs" pickle stays small.
 */
import { InputError } from '../../../common/image-header';

/** A Python dict (or `collections.OrderedDict`), in insertion order. */
export class PickleDict {
  /** Key → value. Keys are compared as JS values: strings and numbers by value, tuples by identity. */
  readonly entries = new Map<unknown, unknown>();
  /** Attributes set by BUILD (e.g. a state dict's `_metadata`), kept as data and never interpreted. */
  state: unknown = undefined;
  constructor(
    /** `builtins.dict` or `collections.OrderedDict`. */
    readonly className = 'builtins.dict',
  ) {}
}

/**
 * A global the pickle names, resolved by the caller's allow-list. `impl` builds the value a call returns
 * (REDUCE, NEWOBJ, OBJ, INST); a global without `impl` is data only (e.g. a storage type inside a
 * persistent id) and calling it is refused.
 */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly impl?: (args: unknown[], kwargs?: PickleDict) => unknown,
    /** Anything the caller wants to attach (e.g. a storage type's dtype). */
    readonly data?: unknown,
  ) {}

  /** `module.name`, as Python prints it. */
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Caps that bound the work and memory any pickle can cost. */
export interface PickleLimits {
  /** Opcodes executed. */
  opcodes: number;
  /** Values on the stack at once (all marks together). */
  stack: number;
  /** Open MARKs at once. */
  marks: number;
  /** Memo entries. */
  memo: number;
  /** Containers nested inside each other. */
  depth: number;
  /** Items put into lists, tuples, dicts and sets, in total. */
  items: number;
}

/** Defaults: generous for any checkpoint (ResNet-152 with optimizer state is ~3 000 tensors), tiny beside a bomb. */
export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = {
  opcodes: 50_000_000,
  stack: 2_000_000,
  marks: 1_000,
  memo: 2_000_000,
  depth: 1_000,
  items: 20_000_000,
};

/** Options for {@link unpickle}. */
export interface UnpickleOptions {
  /** Named in every error message. */
  fileName: string;
  /** Byte offset of the pickle in `bytes` (several pickles may follow each other). Default 0. */
  offset?: number;
  /**
   * Resolves a global to a {@link PickleGlobal}; must throw (an InputError naming the file) to refuse it.
   * Default: {@link safeBuiltinGlobal}, refusing everything else with {@link refuseGlobal}.
   */
  findGlobal?: (module: string, name: string) => PickleGlobal;
  /** Turns a persistent id (PERSID / BINPERSID) into a value; without it persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  limits?: Partial<PickleLimits>;
}

/** The value a pickle builds and the offset just past its STOP opcode. */
export interface UnpickleResult {
  value: unknown;
  end: number;
}

/**
 * Python 2 module names that Python 3 maps to its own when it loads a protocol 0–2 pickle (fix_imports,
 * Lib/_compat_pickle.py IMPORT_MAPPING): a Python 3 pickler writes these names back for old protocols, so
 * `subprocess.Popen` arrives as `commands.Popen`. Only the name in messages depends on it: nothing is allowed
 * by a mapped name that is not allowed anyway.
 */
const PY2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  copy_reg: 'copyreg',
  commands: 'subprocess',
  cPickle: 'pickle',
  cStringIO: 'io',
  StringIO: 'io',
  thread: '_thread',
  Queue: 'queue',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
  urlparse: 'urllib.parse',
  urllib2: 'urllib.request',
  httplib: 'http.client',
  repr: 'reprlib',
  _winreg: 'winreg',
};

/** The standard refusal: names the file and the global, says why. */
export function refuseGlobal(fileName: string, module: string, name: string): never {
  throw new InputError(
    `${fileName}: refuses to run the pickle's global ${module}.${name} (a .pth file is a Python program; only state-dict data is read)`,
    fileName,
  );
}

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};

/**
 * The harmless builtins a data pickle may name: `collections.OrderedDict` (dicts with order),
 * `_codecs.encode` (how protocol 2 writes `bytes`: `_codecs.encode(str, 'latin1')`, handled as data) and
 * `builtins.set` / `frozenset` / `bytes` / `bytearray`. Returns undefined for everything else.
 */
export function safeBuiltinGlobal(fileName: string, module: string, name: string): PickleGlobal | undefined {
  const bad = (what: string): never => {
    throw new InputError(`${fileName}: damaged pickle (${module}.${name} ${what})`, fileName);
  };
  const q = `${module}.${name}`;
  switch (q) {
    case 'collections.OrderedDict':
      return new PickleGlobal(module, name, (args) => {
        const d = new PickleDict(q);
        if (args.length > 1) bad('takes at most one argument');
        if (args.length === 1 && args[0] !== null) {
          const src = args[0];
          if (src instanceof PickleDict) for (const [k, v] of src.entries) d.entries.set(k, v);
          else if (Array.isArray(src))
            for (const pair of src) {
              if (!Array.isArray(pair) || pair.length !== 2) bad('expects (key, value) pairs');
              d.entries.set(pair[0], pair[1]);
            }
          else bad('expects a dict or a list of pairs');
        }
        return d;
      });
    case '_codecs.encode':
      return new PickleGlobal(module, name, (args) => {
        const [s, enc] = args;
        if (typeof s !== 'string') return bad('expects a str');
        const e = typeof enc === 'string' ? enc.toLowerCase().replace(/[-_]/g, '') : 'utf8';
        if (e === 'latin1' || e === 'iso88591') {
          const out = new Uint8Array(s.length);
          for (let i = 0; i < s.length; i++) {
            const c = s.charCodeAt(i);
            if (c > 255) bad('got a character outside latin-1');
            out[i] = c;
          }
          return out;
        }
        if (e === 'utf8') return new TextEncoder().encode(s);
        return bad(`uses the unsupported encoding ${String(enc)}`);
      });
    case 'builtins.set':
    case 'builtins.frozenset':
      return new PickleGlobal(module, name, (args) => {
        if (args.length === 0) return new Set();
        const xs = args[0];
        if (!Array.isArray(xs)) return bad('expects a list');
        return new Set(xs);
      });
    case 'builtins.bytes': // protocols 0–2 write b'' as bytes()
    case 'builtins.bytearray':
      return new PickleGlobal(module, name, (args) => {
        if (args.length === 0) return new Uint8Array(0);
        if (args[0] instanceof Uint8Array) return args[0];
        return bad('expects bytes');
      });
    default:
      return undefined;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Python's repr-escaped string (protocol 0 STRING), quotes included. */
function unescapePy(s: string): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new Error('STRING is not quoted');
  s = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    if (n in simple) out += simple[n];
    else if (n === 'x') {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n >= '0' && n <= '7') {
      let j = i;
      while (j < i + 3 && s[j] >= '0' && s[j] <= '7') j++;
      out += String.fromCharCode(parseInt(s.slice(i, j), 8));
      i = j - 1;
    } else out += '\\' + n;
  }
  return out;
}

/** Protocol 0 UNICODE: raw-unicode-escape (latin-1 bytes, \uXXXX and \UXXXXXXXX for the rest). */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) =>
    String.fromCodePoint(parseInt(u4 ?? u8!, 16)),
  );
}

/** Longest LONG4 integer read, in bytes (torch's magic number takes 10). */
const MAX_LONG_BYTES = 4096;

/** Little-endian two's complement integer (LONG1 / LONG4) as a number when safe, else a bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntLine(s: string): number | bigint {
  const t = s.trim().replace(/L$/, '');
  if (t.length > 2.5 * MAX_LONG_BYTES) throw new Error(`an integer ${t.length} digits long`);
  if (!/^[+-]?\d+$/.test(t)) throw new Error(`bad integer "${s}"`);
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Protocol 0 FLOAT: Python's float(), which also spells inf and nan. */
function parseFloatLine(s: string): number {
  const t = s.trim().toLowerCase();
  const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN };
  if (t in special) return special[t];
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) throw new Error(`bad FLOAT "${s}"`);
  return Number(t);
}

/** Depth of each container built so far (1 for a flat one); bounds nesting as it is built. */
type DepthMap = WeakMap<object, number>;

/**
 * Runs one pickle from `options.offset` to its STOP and returns the value it builds. Throws InputError
 * (`<fileName>: …`) for a refused global, a limit exceeded, or a damaged or truncated pickle.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): UnpickleResult {
  const { fileName } = options;
  const L: PickleLimits = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
  const findGlobal =
    options.findGlobal ?? ((m: string, n: string) => safeBuiltinGlobal(fileName, m, n) ?? refuseGlobal(fileName, m, n));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let pos = options.offset ?? 0;
  let opStart = pos;

  const fail = (what: string): never => {
    throw new InputError(`${fileName}: damaged pickle at byte ${opStart} (${what})`, fileName);
  };
  const limit = (what: string): never => {
    throw new InputError(`${fileName}: refuses the pickle: ${what} — a pickle bomb or a damaged file`, fileName);
  };

  const need = (n: number): number => {
    if (n < 0 || pos + n > end) fail('the pickle ends early — the file is truncated');
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => dv.getUint16(need(2), true);
  const u32 = () => dv.getUint32(need(4), true);
  const i32 = () => dv.getInt32(need(4), true);
  const u64 = (): number => {
    const p = need(8);
    const hi = dv.getUint32(p + 4, true);
    if (hi > 0x1fffff) fail('a 64-bit length beyond 2^53');
    return hi * 2 ** 32 + dv.getUint32(p, true);
  };
  const take = (n: number) => {
    const p = need(n);
    return bytes.subarray(p, p + n);
  };
  const line = (): string => {
    let i = pos;
    while (i < end && bytes[i] !== 0x0a) i++;
    if (i >= end) fail('a text line without its newline — the file is truncated');
    const s = latin1(bytes.subarray(pos, i));
    pos = i + 1;
    return s;
  };

  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const depth: DepthMap = new WeakMap();
  let items = 0;
  let protocol = 0;

  const push = (v: unknown) => {
    if (stack.length >= L.stack) limit(`more than ${L.stack} values on its stack`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      fail('pops from an empty stack');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      fail('reads an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to pop to');
    const out = stack.splice(m!);
    return out;
  };
  // Only containers that hold containers get an entry (flat ones are depth 1), which keeps this cheap.
  const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? (depth.get(v) ?? 1) : 0);
  /** Records that `container` now holds `children`: counts the items and checks nesting. */
  const adopt = (container: object, children: unknown[]) => {
    items += children.length;
    if (items > L.items) limit(`more than ${L.items} items in its containers`);
    let d = depth.get(container) ?? 1;
    for (const c of children) d = Math.max(d, depthOf(c) + 1);
    if (d > L.depth) limit(`containers nested more than ${L.depth} levels deep`);
    if (d > 1) depth.set(container, d);
  };
  const tuple = (xs: unknown[]): unknown[] => {
    adopt(xs, xs);
    return Object.freeze(xs) as unknown[];
  };
  const memoPut = (i: number, v: unknown) => {
    if (!memo.has(i) && memo.size >= L.memo) limit(`more than ${L.memo} memo entries`);
    memo.set(i, v);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i);
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    if (protocol < 3) module = PY2_MODULES[module] ?? module;
    const g = findGlobal(module, name);
    if (!(g instanceof PickleGlobal)) refuseGlobal(fileName, module, name);
    return g;
  };
  const call = (f: unknown, args: unknown, kwargs?: unknown): unknown => {
    if (!(f instanceof PickleGlobal)) return fail('calls something that is not a global');
    if (!Array.isArray(args)) return fail(`calls ${f.qualifiedName} without an argument tuple`);
    if (kwargs !== undefined && !(kwargs instanceof PickleDict))
      return fail(`calls ${f.qualifiedName} with keyword arguments that are not a dict`);
    if (!f.impl) return refuseGlobal(fileName, f.module, f.name);
    const v = f.impl(args, kwargs as PickleDict | undefined);
    return v;
  };
  const appendTo = (list: unknown, xs: unknown[]) => {
    if (list instanceof Set) {
      adopt(list, xs);
      for (const x of xs) list.add(x);
      return;
    }
    if (!Array.isArray(list) || Object.isFrozen(list)) fail('APPEND to something that is not a list');
    adopt(list as unknown[], xs);
    for (const x of xs) (list as unknown[]).push(x);
  };
  const setItems = (dict: unknown, kv: unknown[]) => {
    if (!(dict instanceof PickleDict)) return fail('SETITEM on something that is not a dict');
    if (kv.length % 2) fail('SETITEMS with an odd number of values');
    adopt(dict, kv);
    for (let i = 0; i < kv.length; i += 2) dict.entries.set(kv[i], kv[i + 1]);
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) return fail('a persistent id, which this file kind does not use');
    return options.persistentLoad(pid);
  };

  try {
    for (let n = 0; ; n++) {
      if (n >= L.opcodes) limit(`more than ${L.opcodes} opcodes`);
      opStart = pos;
      const op = u8();
      switch (op) {
        case 0x80: // PROTO
          protocol = u8();
          if (protocol > 5) fail('pickle protocol newer than 5');
          break;
        case 0x95: // FRAME: an advisory length; the opcodes inside are read as usual
          u64();
          break;
        case 0x2e: // STOP '.': the value on top, as Python takes it (whatever lies below is ignored)
          return { value: pop(), end: pos };
        case 0x28: // MARK '('
          if (marks.length >= L.marks) limit(`more than ${L.marks} nested MARKs`);
          marks.push(stack.length);
          break;
        case 0x30: // POP '0'
          if (marks.length && stack.length === marks[marks.length - 1]) marks.pop();
          else pop();
          break;
        case 0x31: // POP_MARK '1'
          popMark();
          break;
        case 0x32: // DUP '2'
          push(top());
          break;
        // ---- constants
        case 0x4e: // NONE 'N'
          push(null);
          break;
        case 0x88: // NEWTRUE
          push(true);
          break;
        case 0x89: // NEWFALSE
          push(false);
          break;
        case 0x4b: // BININT1 'K'
          push(u8());
          break;
        case 0x4d: // BININT2 'M'
          push(u16());
          break;
        case 0x4a: // BININT 'J'
          push(i32());
          break;
        case 0x8a: // LONG1
          push(decodeLong(take(u8())));
          break;
        case 0x8b: {
          // LONG4
          const len = i32();
          if (len < 0) fail('negative LONG4 length');
          // Decoding is quadratic in the length: a megabyte-long integer would hang the reader.
          if (len > MAX_LONG_BYTES) limit(`an integer ${len} bytes long`);
          push(decodeLong(take(len)));
          break;
        }
        case 0x49: {
          // INT 'I': also protocol 0's bools
          const s = line();
          push(s === '01' ? true : s === '00' ? false : parseIntLine(s));
          break;
        }
        case 0x4c: // LONG 'L'
          push(parseIntLine(line()));
          break;
        case 0x46: {
          // FLOAT 'F'
          push(parseFloatLine(line()));
          break;
        }
        case 0x47: // BINFLOAT 'G' (big-endian)
          push(dv.getFloat64(need(8), false));
          break;
        // ---- strings and bytes
        case 0x58: // BINUNICODE 'X'
          push(utf8.decode(take(u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(utf8.decode(take(u8())));
          break;
        case 0x8d: // BINUNICODE8
          push(utf8.decode(take(u64())));
          break;
        case 0x56: // UNICODE 'V'
          push(rawUnicodeEscape(line()));
          break;
        case 0x53: // STRING 'S' (Python 2 str; torch.load decodes as utf-8)
          push(unescapePy(line().trim()));
          break;
        case 0x54: {
          // BINSTRING 'T'
          const len = i32();
          if (len < 0) fail('negative BINSTRING length');
          push(utf8.decode(take(len)));
          break;
        }
        case 0x55: // SHORT_BINSTRING 'U'
          push(utf8.decode(take(u8())));
          break;
        case 0x42: // BINBYTES 'B'
          push(take(u32()));
          break;
        case 0x43: // SHORT_BINBYTES 'C'
          push(take(u8()));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          push(take(u64()));
          break;
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          fail('out-of-band buffers (protocol 5), which a file cannot carry');
          break;
        // ---- containers
        case 0x5d: {
          // EMPTY_LIST ']'
          push([]);
          break;
        }
        case 0x7d: {
          // EMPTY_DICT '}'
          push(new PickleDict());
          break;
        }
        case 0x8f: {
          // EMPTY_SET
          push(new Set<unknown>());
          break;
        }
        case 0x29: // EMPTY_TUPLE ')'
          push(tuple([]));
          break;
        case 0x85: // TUPLE1
          push(tuple([pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          push(tuple([pop(), b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          push(tuple([pop(), b, c]));
          break;
        }
        case 0x74: // TUPLE 't'
          push(tuple(popMark()));
          break;
        case 0x6c: {
          // LIST 'l'
          const xs = popMark();
          adopt(xs, xs);
          push(xs);
          break;
        }
        case 0x64: {
          // DICT 'd'
          const kv = popMark();
          const d = new PickleDict();
          setItems(d, kv);
          push(d);
          break;
        }
        case 0x91: {
          // FROZENSET
          const xs = popMark();
          const s = new Set<unknown>();
          adopt(s, xs);
          for (const x of xs) s.add(x);
          push(s);
          break;
        }
        case 0x61: {
          // APPEND 'a'
          const x = pop();
          appendTo(top(), [x]);
          break;
        }
        case 0x65: {
          // APPENDS 'e'
          const xs = popMark();
          appendTo(top(), xs);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const xs = popMark();
          const s = top();
          if (!(s instanceof Set)) fail('ADDITEMS to something that is not a set');
          appendTo(s, xs);
          break;
        }
        case 0x73: {
          // SETITEM 's'
          const v = pop();
          const k = pop();
          setItems(top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS 'u'
          const kv = popMark();
          setItems(top(), kv);
          break;
        }
        // ---- memo
        case 0x70: // PUT 'p'
          memoPut(Number(parseIntLine(line())), top());
          break;
        case 0x71: // BINPUT 'q'
          memoPut(u8(), top());
          break;
        case 0x72: // LONG_BINPUT 'r'
          memoPut(u32(), top());
          break;
        case 0x94: // MEMOIZE
          memoPut(memo.size, top());
          break;
        case 0x67: // GET 'g'
          push(memoGet(Number(parseIntLine(line()))));
          break;
        case 0x68: // BINGET 'h'
          push(memoGet(u8()));
          break;
        case 0x6a: // LONG_BINGET 'j'
          push(memoGet(u32()));
          break;
        // ---- globals and calls: every name goes through the allow-list
        case 0x63: {
          // GLOBAL 'c'
          const module = line();
          push(resolve(module, line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string names');
          push(resolve(module as string, name as string));
          break;
        }
        case 0x69: {
          // INST 'i'
          const module = line();
          const cls = resolve(module, line());
          push(call(cls, popMark()));
          break;
        }
        case 0x6f: {
          // OBJ 'o'
          const xs = popMark();
          if (xs.length === 0) fail('OBJ without a class');
          push(call(xs[0], xs.slice(1)));
          break;
        }
        case 0x52: {
          // REDUCE 'R'
          const args = pop();
          push(call(pop(), args));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = pop();
          push(call(pop(), args));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = pop();
          const args = pop();
          push(call(pop(), args, kwargs));
          break;
        }
        case 0x62: {
          // BUILD 'b': only a dict's attributes (e.g. a state dict's _metadata) are accepted, and kept as data
          const state = pop();
          const obj = top();
          if (!(obj instanceof PickleDict)) fail('BUILD (__setstate__) on an object other than a dict');
          (obj as PickleDict).state = state;
          break;
        }
        case 0x50: // PERSID 'P'
          push(persistent(line()));
          break;
        case 0x51: // BINPERSID 'Q'
          push(persistent(pop()));
          break;
        case 0x82:
        case 0x83:
        case 0x84:
          fail('an extension-registry opcode (EXT1/2/4), which names globals by number');
          break;
        default:
          fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')} — not a pickle, or a damaged one`);
      }
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      `${fileName}: damaged pickle at byte ${opStart} (${e instanceof Error ? e.message : String(e)})`,
      fileName,
    );
  }
}
