/**
 * The restricted unpickler against Python's own: test/formats/oracle/torch_files.py pickles values at
 * protocols 0–5 (plus hand-written Python 2 opcodes) and records what `pickle.loads` makes of each, as tagged
 * JSON. Every value must come out the same (structure, types where JS keeps them, shared references, cycles).
 * Hostile pickles (os.system, eval, subprocess.Popen gadgets) must be refused by name before anything runs,
 * and bombs must fail fast.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../common/image-header';
import { PickleDict, PickleGlobal, unpickle } from '../../renderer/src/formats/pickle';

const SCRIPT = fileURLToPath(new URL('./oracle/torch_files.py', import.meta.url));

interface Tagged {
  [k: string]: unknown;
}
interface PickleManifest {
  cases: { file: string; protocol: number; expect: unknown }[];
  hostile: string[];
  marker: string;
}

let dir = '';
let manifest: PickleManifest;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pickle-oracle-'));
  const r = spawnSync('/usr/bin/python3', [SCRIPT, 'pickles', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message})`);
  if (r.status !== 0) throw new Error(`the pickle oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  manifest = JSON.parse(readFileSync(join(dir, 'pickles.json'), 'utf8')) as PickleManifest;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));

/**
 * Compares a value the unpickler built with Python's tagged JSON; returns the first difference, or null.
 * JS has one number type, so Python's int and float both compare as numbers (by value, -0 and NaN included);
 * big ints compare as bigint. (A plain function rather than one expect() per item: the big cases hold
 * thousands.)
 */
function diff(actual: unknown, expected: unknown, path: string, seen: unknown[]): string | null {
  const is = (ok: boolean, what: string) => (ok ? null : `${path}: ${what}`);
  if (expected === null || typeof expected === 'boolean')
    return is(actual === expected, `${String(actual)} is not ${String(expected)}`);
  const t = expected as Tagged;
  const [kind] = Object.keys(t);
  const v = t[kind];
  switch (kind) {
    case 'int': {
      const b = BigInt(v as string);
      const safe = b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER);
      if (typeof actual === 'bigint') return is(actual === b && !safe, `${actual} is not the bigint ${b}`);
      return is(Number.isSafeInteger(actual) && BigInt(actual as number) === b, `${String(actual)} is not ${b}`);
    }
    case 'float': {
      const f = v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : Number(v);
      return is(Object.is(actual, f), `${String(actual)} is not ${String(v)}`);
    }
    case 'str':
      return is(actual === v, `${JSON.stringify(actual)} is not ${JSON.stringify(v)}`);
    case 'bytes':
      return is(
        actual instanceof Uint8Array && Buffer.from(actual).toString('hex') === v,
        `${String(actual)} is not bytes ${String(v)}`,
      );
    case 'ref':
      return is(actual === seen[v as number], `is not the same object as reference ${String(v)}`);
  }
  seen.push(actual);
  switch (kind) {
    case 'tuple':
    case 'list': {
      const xs = v as unknown[];
      if (!Array.isArray(actual)) return `${path}: not an array`;
      if (Object.isFrozen(actual) !== (kind === 'tuple')) return `${path}: not a ${kind}`;
      if (actual.length !== xs.length) return `${path}: ${actual.length} items instead of ${xs.length}`;
      for (let i = 0; i < xs.length; i++) {
        const d = diff(actual[i], xs[i], `${path}[${i}]`, seen);
        if (d) return d;
      }
      return null;
    }
    case 'dict':
    case 'odict': {
      if (!(actual instanceof PickleDict)) return `${path}: not a dict`;
      if (actual.className !== (kind === 'odict' ? 'collections.OrderedDict' : 'builtins.dict'))
        return `${path}: a ${actual.className}, not a ${kind}`;
      const kv = v as [unknown, unknown][];
      const entries = [...actual.entries];
      if (entries.length !== kv.length) return `${path}: ${entries.length} entries instead of ${kv.length}`;
      for (let i = 0; i < kv.length; i++) {
        const d =
          diff(entries[i][0], kv[i][0], `${path} key ${i}`, seen) ??
          diff(entries[i][1], kv[i][1], `${path}[${String(entries[i][0])}]`, seen);
        if (d) return d;
      }
      return null;
    }
    case 'set': {
      if (!(actual instanceof Set)) return `${path}: not a set`;
      const got = [...actual].map((x) => JSON.stringify(tagOf(x))).sort();
      return is(JSON.stringify(got) === JSON.stringify(v), `${JSON.stringify(got)} is not ${JSON.stringify(v)}`);
    }
  }
  throw new Error(`unknown tag ${kind}`);
}

/** Python's tag() for the scalars a set may hold (ints and strings here). */
function tagOf(x: unknown): unknown {
  if (typeof x === 'number' && Number.isInteger(x)) return { int: String(x) };
  if (typeof x === 'string') return { str: x };
  throw new Error(`untagged set item ${String(x)}`);
}

describe('the restricted unpickler reads what Python pickles', () => {
  it('the oracle wrote every protocol', () => {
    expect(new Set(manifest.cases.map((c) => c.protocol))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(manifest.cases.length).toBeGreaterThan(50);
  });

  it('every value matches pickle.loads, at every protocol', () => {
    for (const c of manifest.cases) {
      const bytes = read(c.file);
      const r = unpickle(bytes, { fileName: c.file });
      expect(r.end, `${c.file}: ends at its STOP`).toBe(bytes.length);
      expect(diff(r.value, c.expect, c.file, [])).toBeNull();
    }
  });

  it('keeps shared references and cycles as references, never copies', () => {
    for (const p of [0, 2, 4]) {
      const rec = unpickle(read(`recursive-p${p}.pkl`), { fileName: 'r' }).value as unknown[];
      expect(rec[1]).toBe(rec);
      const containers = unpickle(read(`containers-p${p}.pkl`), { fileName: 'c' }).value as unknown[];
      const pair = containers[11] as unknown[][];
      expect(pair[0]).toBe(pair[1]);
    }
  });

  it('reads pickles that follow each other from an offset', () => {
    const a = read('scalars-p2.pkl');
    const b = read('strings-p4.pkl');
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    const first = unpickle(both, { fileName: 'two' });
    expect(first.end).toBe(a.length);
    const second = unpickle(both, { fileName: 'two', offset: first.end });
    expect(second.end).toBe(both.length);
    expect((second.value as string[])[2]).toBe('state_dict');
  });
});

describe('hostile pickles are refused by name and nothing runs', () => {
  const globalOf: Record<string, string> = {
    'os-system': 'posix.system',
    eval: 'builtins.eval',
    popen: 'subprocess.Popen',
    'os-literal': 'os.system',
  };
  it('os.system, posix.system, builtins.eval and subprocess.Popen gadgets at protocols 0, 2 and 4', () => {
    expect(manifest.hostile.length).toBe(10);
    for (const f of manifest.hostile) {
      const kind = /^hostile-(.+?)(-p\d)?\.pkl$/.exec(f)![1];
      const g = globalOf[kind];
      let err: unknown;
      try {
        unpickle(read(f), { fileName: f });
      } catch (e) {
        err = e;
      }
      expect(err, f).toBeInstanceOf(InputError);
      expect((err as InputError).file).toBe(f);
      expect((err as Error).message).toBe(
        `${f}: refuses to run the pickle's global ${g} (a .pth file is a Python program; only state-dict data is read)`,
      );
    }
    expect(existsSync(manifest.marker), 'the gadgets never ran').toBe(false);
  });

  it('a global the allow-list returns without an implementation cannot be called', () => {
    // GLOBAL torch.FloatStorage (data only), EMPTY_TUPLE, REDUCE
    const b = new Uint8Array([0x80, 2, ...Buffer.from('ctorch\nFloatStorage\n'), 0x29, 0x52, 0x2e]);
    expect(() =>
      unpickle(b, { fileName: 'x.pth', findGlobal: (m, n) => new PickleGlobal(m, n, undefined, { dtype: 'float32' }) }),
    ).toThrow("x.pth: refuses to run the pickle's global torch.FloatStorage");
  });

  it('persistent ids are refused unless the caller reads them', () => {
    const b = new Uint8Array([0x80, 2, 0x4b, 1, 0x51, 0x2e]);
    expect(() => unpickle(b, { fileName: 'p.pkl' })).toThrow(/p\.pkl: damaged pickle at byte 4 \(a persistent id/);
  });

  it('BUILD is accepted on a dict only (a __setstate__ gadget cannot reach anything)', () => {
    // EMPTY_LIST, EMPTY_DICT, BUILD
    const b = new Uint8Array([0x80, 2, 0x5d, 0x7d, 0x62, 0x2e]);
    expect(() => unpickle(b, { fileName: 'b.pkl' })).toThrow(/b\.pkl: .*BUILD/);
  });
});

describe('limits: no pickle can hang or exhaust memory', () => {
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  it('a bomb of nested lists (200 000 deep, via the stack) fails fast with a message', () => {
    const n = 200_000;
    const b = Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(n, ']'), Buffer.alloc(n - 1, 'a'), Buffer.from('.')]);
    let msg = '';
    const ms = time(() => {
      try {
        unpickle(new Uint8Array(b), { fileName: 'bomb.pth' });
      } catch (e) {
        msg = (e as Error).message;
      }
    });
    expect(msg).toBe(
      'bomb.pth: refuses the pickle: containers nested more than 1000 levels deep — a pickle bomb or a damaged file',
    );
    expect(ms).toBeLessThan(2000);
  });

  it('a bomb of nested MARKs fails at the mark limit', () => {
    const n = 100_000;
    const b = Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(n, '('), Buffer.alloc(n, 'l'), Buffer.from('.')]);
    expect(() => unpickle(new Uint8Array(b), { fileName: 'm.pth' })).toThrow(
      'm.pth: refuses the pickle: more than 1000 nested MARKs',
    );
  });

  it('a memo-sharing bomb (10^40 items if expanded) stays small and is read in milliseconds', () => {
    const parts: number[] = [0x80, 2, 0x5d, 0x71, 0, 0x30];
    for (let i = 1; i <= 40; i++) {
      parts.push(0x5d, 0x28);
      for (let k = 0; k < 10; k++) parts.push(0x68, i - 1);
      parts.push(0x65, 0x71, i, 0x30);
    }
    parts.push(0x68, 40, 0x2e);
    let v: unknown;
    const ms = time(() => (v = unpickle(new Uint8Array(parts), { fileName: 'laughs' }).value));
    expect((v as unknown[]).length).toBe(10);
    expect(ms).toBeLessThan(200);
  });

  it('the opcode, stack, memo and item caps each stop a pickle with a message', () => {
    const many = (op: number[], n: number) => new Uint8Array([0x80, 2, ...new Array(n).fill(op).flat(), 0x2e]);
    expect(() => unpickle(many([0x4e, 0x30], 600), { fileName: 'o', limits: { opcodes: 1000 } })).toThrow(
      'o: refuses the pickle: more than 1000 opcodes',
    );
    expect(() => unpickle(many([0x4e], 600), { fileName: 's', limits: { stack: 500 } })).toThrow(
      's: refuses the pickle: more than 500 values on its stack',
    );
    expect(() =>
      unpickle(new Uint8Array([0x80, 2, 0x4e, ...new Array(300).fill(0x94), 0x2e]), {
        fileName: 'memo',
        limits: { memo: 256 },
      }),
    ).toThrow('memo: refuses the pickle: more than 256 memo entries');
    // EMPTY_LIST, then 600 × (NONE, APPEND)
    expect(() =>
      unpickle(new Uint8Array([0x80, 2, 0x5d, ...new Array(600).fill([0x4e, 0x61]).flat(), 0x2e]), {
        fileName: 'items',
        limits: { items: 500 },
      }),
    ).toThrow('items: refuses the pickle: more than 500 items in its containers');
  });

  it('a megabyte-long integer is refused instead of decoded', () => {
    const n = 1 << 20;
    const b = new Uint8Array(3 + 4 + n + 1);
    b.set([0x80, 2, 0x8b, 0, 0, 0x10, 0]);
    b[b.length - 1] = 0x2e;
    expect(() => unpickle(b, { fileName: 'long.pkl' })).toThrow(
      'long.pkl: refuses the pickle: an integer 1048576 bytes long — a pickle bomb or a damaged file',
    );
  });

  it('truncated and damaged pickles name the file and the byte', () => {
    const good = read('strings-p2.pkl');
    expect(() => unpickle(good.subarray(0, good.length - 10), { fileName: 't.pkl' })).toThrow(
      /^t\.pkl: damaged pickle at byte \d+ \(the pickle ends early — the file is truncated\)$/,
    );
    expect(() => unpickle(new Uint8Array([0x80, 2, 0xff]), { fileName: 'u.pkl' })).toThrow(
      'u.pkl: damaged pickle at byte 2 (unknown opcode 0xff — not a pickle, or a damaged one)',
    );
    expect(() => unpickle(new Uint8Array([0x80, 2, 0x68, 9, 0x2e]), { fileName: 'g.pkl' })).toThrow(
      'g.pkl: damaged pickle at byte 2 (memo entry 9 was never stored)',
    );
    expect(() => unpickle(new Uint8Array([0x80, 2, 0x30, 0x2e]), { fileName: 'e.pkl' })).toThrow(
      'e.pkl: damaged pickle at byte 2 (pops from an empty stack)',
    );
    // A 64-bit BINUNICODE8 length far past the end
    expect(() =>
      unpickle(new Uint8Array([0x80, 4, 0x8d, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e]), { fileName: 'l.pkl' }),
    ).toThrow('l.pkl: damaged pickle at byte 2 (the pickle ends early — the file is truncated)');
  });
});
