"""Oracle for the torch checkpoint reader (run by test/formats/pickle.test.ts and torch-file.test.ts with
/usr/bin/python3).

Usage:
  torch_files.py pickles OUT_DIR   plain pickles of Python values (protocols 0-5, hand-written Python 2
                                   opcodes) + OUT_DIR/pickles.json: what Python's own pickle.loads makes of
                                   each, as tagged JSON; and hostile pickles (never loaded here).
  torch_files.py torch OUT_DIR     .pth files written by torch.save (zip and legacy containers), their tensors
                                   as raw little-endian float32 (PyTorch's own conversion) + OUT_DIR/manifest.json;
                                   and hostile / damaged .pth files, each with what torch.load itself does.

Writing a pickle never executes it. The only hostile files this script loads are twins whose marker is a
separate "proof" path, to show the gadgets are real (torch.load of them runs the command).
"""
import collections
import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import zipfile

MODE, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)


def tag(v, seen=None):
    """Python value -> JSON with explicit types, so the test compares structure and not only values."""
    seen = seen if seen is not None else {}
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        if v == 0 and math.copysign(1, v) < 0:
            return {"float": "-0"}
        return {"float": repr(v)}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": bytes(v).hex()}
    if id(v) in seen:
        return {"ref": seen[id(v)]}
    seen[id(v)] = len(seen)
    if isinstance(v, tuple):
        return {"tuple": [tag(x, seen) for x in v]}
    if isinstance(v, list):
        return {"list": [tag(x, seen) for x in v]}
    if isinstance(v, collections.OrderedDict):
        return {"odict": [[tag(k, seen), tag(x, seen)] for k, x in v.items()]}
    if isinstance(v, dict):
        return {"dict": [[tag(k, seen), tag(x, seen)] for k, x in v.items()]}
    if isinstance(v, (set, frozenset)):
        return {"set": sorted(json.dumps(tag(x), separators=(",", ":")) for x in v)}
    raise TypeError(type(v))


def pickles():
    shared = [1, 2]
    rec = ["loop"]
    rec.append(rec)
    values = {
        "scalars": [None, True, False, 0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -(2**31), 2**31, 2**53,
                    -(2**63), 2**64 + 7, -(2**100), 0.1, -0.0, 1e308, 5e-324, float("inf"), float("-inf"),
                    float("nan"), 3.0],
        "strings": ["", "a", "state_dict", "é😀ü", "x" * 300, "line\nbreak\\back'quote\"", "\u0000\u007f\u0100"],
        "bytes": [b"", b"\x00\xff\x80abc", bytes(range(256)) * 2],
        "containers": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4, 5), [], [[]], {"a": [1, (2, 3)], 4: "four"},
                       collections.OrderedDict([("z", 1), ("a", 2)]), {1, 2, 3}, frozenset(["f"]),
                       [shared, shared], {"deep": [[[[{"k": (1, [2])}]]]]}],
        "batched": list(range(2500)),  # more than one APPENDS batch of 1000
        "bigdict": {f"k{i}": i for i in range(1200)},
        "recursive": rec,
        "bytearray": [bytearray(b"ba\x00")],
    }
    cases = []
    for name, v in values.items():
        for proto in range(0, 6):
            b = pickle.dumps(v, protocol=proto)
            fn = f"{name}-p{proto}.pkl"
            open(os.path.join(OUT, fn), "wb").write(b)
            cases.append({"file": fn, "protocol": proto, "expect": tag(pickle.loads(b))})
    # Python 2 opcodes the Python 3 pickler never writes (STRING, BINSTRING, SHORT_BINSTRING, INT bools,
    # LONG with L, DICT/LIST/TUPLE with marks, PUT/GET, POP, DUP, POP_MARK), loaded by Python 3 with
    # encoding='utf-8' as torch.load does.
    hand = {
        "py2-string": b"S'abc\\n\\x41\\101\\''\np0\n.",
        "py2-binstring": b"\x80\x02U\x03abcq\x00T\x04\x00\x00\x00defgh\x00\x86q\x01.",
        "py2-ints": b"(I01\nI00\nI42\nL12345678901234567890L\nF1.5\ntp0\n.",
        "py2-dict": b"(dp0\nS'a'\np1\n(lp2\nI1\naI2\nasg1\nI7\ns.",
        "pop-dup": b"\x80\x02K\x01K\x020K\x032\x86(K\x09K\x091\x86.",
        "long4": b"\x80\x02\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80.",
        "unicode-escape": b"V\\u00e9t\\U0001f600\np0\n.",
    }
    for name, b in hand.items():
        fn = f"{name}.pkl"
        open(os.path.join(OUT, fn), "wb").write(b)
        cases.append({"file": fn, "protocol": 0, "expect": tag(pickle.loads(b, encoding="utf-8"))})

    # Hostile: the classic gadgets, written (never loaded) at protocols 0, 2 and 4.
    marker = os.path.join(OUT, "PWNED")

    class OsSystem:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class Eval:
        def __reduce__(self):
            return (eval, (f"open({marker!r}, 'w').close()",))

    class Popen:
        def __reduce__(self):
            return (subprocess.Popen, (["touch", marker],))

    hostile = []
    for name, obj in [("os-system", OsSystem()), ("eval", Eval()), ("popen", Popen())]:
        for proto in (0, 2, 4):
            fn = f"hostile-{name}-p{proto}.pkl"
            open(os.path.join(OUT, fn), "wb").write(pickle.dumps({"weight": [1.0], "x": obj}, protocol=proto))
            hostile.append(fn)
    # os.system as the file names it literally (pickle writes os.system as posix.system on Linux).
    open(os.path.join(OUT, "hostile-os-literal.pkl"), "wb").write(
        b"cos\nsystem\n(S'touch " + marker.encode() + b"'\ntR.")
    hostile.append("hostile-os-literal.pkl")
    json.dump({"cases": cases, "hostile": hostile, "marker": marker}, open(os.path.join(OUT, "pickles.json"), "w"))


# ------------------------------------------------------------------------------------------------ torch

def zip64(src_path, out_path):
    """Rewrites a zip's central directory with 0xFFFFFFFF sizes / offsets and zip64 extra fields (id 1)."""
    src = open(src_path, "rb").read()
    e = src.rfind(b"PK\x05\x06")
    cnt, _, cdoff = struct.unpack("<HII", src[e + 10:e + 20])
    fmt = "<IHHHHHHIIIHHHHHII"
    p, cd = cdoff, bytearray()
    for _ in range(cnt):
        (sig, _, _, fl, meth, t, d, crc, csz, usz, nl, el, cl, dsk, ia, ea, lho) = struct.unpack(fmt, src[p:p + 46])
        name = src[p + 46:p + 46 + nl]
        extra = src[p + 46 + nl:p + 46 + nl + el] + struct.pack("<HHQQQ", 1, 24, usz, csz, lho)
        cd += struct.pack(fmt, sig, 45, 45, fl, meth, t, d, crc, 0xFFFFFFFF, 0xFFFFFFFF, nl, len(extra), cl, dsk, ia,
                          ea, 0xFFFFFFFF) + name + extra
        p += 46 + nl + el + cl
    body = src[:cdoff]
    eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, cnt, cnt, len(cd), len(body))
    locator = struct.pack("<IIQI", 0x07064B50, 0, len(body) + len(cd), 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    open(out_path, "wb").write(body + cd + eocd64 + locator + eocd)


def torch_files():
    try:
        import torch
        import torch.nn as nn
        import torchvision
    except ImportError as e:
        print(f"MISSING-DEPS: {e}", file=sys.stderr)
        sys.exit(3)

    torch.manual_seed(0)

    class SmallNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3, bias=False),
                                          nn.BatchNorm2d(16))
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))

    def small_sd(dtype=None):
        torch.manual_seed(1)
        m = SmallNet()
        m.train()
        m(torch.randn(2, 3, 9, 9))  # moves the BN running stats and num_batches_tracked off their defaults
        if dtype is not None:
            m = m.to(dtype)
        return m.state_dict()

    manifest = {"good": [], "hostile": []}

    def expect(name, file, sd, container, path):
        offset = 0
        tensors = []
        with open(os.path.join(OUT, name + ".bin"), "wb") as f:
            for k, t in sd.items():
                t = t.detach()
                f.write(t.contiguous().to(torch.float32).numpy().astype("<f4").tobytes())
                tensors.append({"name": k, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                                "offset": offset, "contiguous": t.is_contiguous(), "storageOffset": t.storage_offset()})
                offset += t.numel()
        manifest["good"].append({"file": file, "container": container, "path": path, "expect": name + ".bin",
                                 "tensors": tensors})

    def save(name, obj, sd, container, path="", **kw):
        file = f"{name}.pth"
        torch.save(obj, os.path.join(OUT, file), _use_new_zipfile_serialization=(container == "zip"), **kw)
        # The file must read back in PyTorch itself as the same tensors.
        back = torch.load(os.path.join(OUT, file))
        back_sd = back[path] if path else back
        assert list(back_sd.keys()) == list(sd.keys())
        for k in sd:
            assert torch.equal(back_sd[k], sd[k]) or (sd[k].is_floating_point() and torch.allclose(
                back_sd[k].float(), sd[k].float(), equal_nan=True)), k
        expect(name, file, sd, container, path)

    sd = small_sd()
    g = torch.Generator().manual_seed(2)
    # Every dtype, with the special values the converters must keep (inf, -0, subnormals, NaN).
    dtypes = collections.OrderedDict()
    specials = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, 1e-5, float("inf"), float("-inf"), float("nan")])
    dtypes["f16"] = torch.cat([specials, torch.randn(20, generator=g)]).half()
    dtypes["bf16"] = torch.cat([specials, torch.tensor([3e38, 1e-39]), torch.randn(20, generator=g)]).bfloat16()
    dtypes["f32"] = torch.cat([specials, torch.tensor([1e-45, 3.4e38])])
    dtypes["f64"] = torch.tensor([0.1, -1e-300, 1e300, 1 / 3, -0.0, 123456789.123], dtype=torch.float64)
    dtypes["i64"] = torch.tensor([0, -1, 2**40 + 3, -(2**45), 16777217, 9], dtype=torch.int64)
    dtypes["i32"] = torch.tensor([-(2**31), 2**31 - 1, 0, 7], dtype=torch.int32)
    dtypes["i16"] = torch.tensor([-32768, 32767, -1], dtype=torch.int16)
    dtypes["i8"] = torch.tensor([-128, 127, -1, 0], dtype=torch.int8)
    dtypes["u8"] = torch.tensor([0, 255, 128], dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True])
    dtypes["f16-2d"] = torch.randn(3, 5, generator=g).half()
    half_sd = small_sd(torch.float16)
    bf_sd = small_sd(torch.bfloat16)
    for k, v in half_sd.items():
        dtypes["half." + k] = v
    for k, v in bf_sd.items():
        dtypes["bf16." + k] = v

    # Views: strided, transposed, offset into a shared storage, stride 0, 0-d, empty, half views.
    base = torch.randn(5, 4, generator=g)
    hbase = torch.randn(4, 6, generator=g).half()
    bbase = torch.randn(4, 6, generator=g).bfloat16()
    dbase = torch.randn(3, 4, generator=g).double()
    views = collections.OrderedDict()
    views["base"] = base
    views["tail"] = base[1:]
    views["t"] = base.t()
    views["col"] = base[:, 1]
    views["step"] = base[::2, ::3]
    views["tail.t"] = base[2:].t()
    views["expand"] = torch.randn(3, 1, generator=g).expand(3, 4)
    views["scalar"] = torch.tensor(3.5)
    views["empty"] = torch.zeros(0, 3)
    views["one"] = base[3:4, 2:3]
    views["perm"] = torch.randn(2, 3, 4, generator=g).permute(2, 0, 1)
    views["h.t"] = hbase.t()
    views["h.tail"] = hbase[1:, 2:]
    views["bf.t"] = bbase.t()[1:]
    views["d.t"] = dbase.t()
    views["i64.step"] = torch.arange(20)[3::4]

    torch.manual_seed(3)
    opt_model = SmallNet()
    opt = torch.optim.SGD(opt_model.parameters(), lr=0.1, momentum=0.9)
    opt_model(torch.randn(2, 3, 9, 9)).sum().backward()
    opt.step()

    for c in ("zip", "legacy"):
        save(f"small-{c}", sd, sd, c)
        save(f"dtypes-{c}", dtypes, dtypes, c)
        save(f"views-{c}", views, views, c)
        save(f"small-{c}-p1", sd, sd, c, pickle_protocol=1)
        save(f"small-{c}-p4", sd, sd, c, pickle_protocol=4)
        save(f"small-{c}-p5", sd, sd, c, pickle_protocol=5)
    save("wrap-state_dict", {"state_dict": sd, "epoch": 3, "best_acc": 0.91, "arch": "smallnet"}, sd, "zip", "state_dict")
    save("wrap-model", {"epoch": 7, "model": sd, "optimizer": opt.state_dict(), "args": {"lr": 0.1, "tags": ("a",)}},
         sd, "zip", "model")
    save("wrap-model_state_dict", {"model_state_dict": sd, "epoch": 1, "loss": float("nan")}, sd, "legacy",
         "model_state_dict")
    save("wrap-net", {"net": sd, "acc": 0.5}, sd, "legacy", "net")
    # Parameters (torch.save of a dict of nn.Parameter uses _rebuild_parameter).
    params = collections.OrderedDict((k, nn.Parameter(v.clone())) for k, v in list(sd.items())[:3])
    save("params-zip", params, params, "zip")

    torch.manual_seed(4)
    resnet = torchvision.models.resnet18().state_dict()
    save("resnet18-zip", resnet, resnet, "zip")
    torch.manual_seed(5)
    mnv2 = torchvision.models.mobilenet_v2().state_dict()
    save("mobilenet_v2-legacy", mnv2, mnv2, "legacy")

    # Re-zipped with DEFLATE by another tool (torch itself writes STORED).
    with zipfile.ZipFile(os.path.join(OUT, "small-zip.pth")) as src, \
            zipfile.ZipFile(os.path.join(OUT, "small-deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    expect("small-deflated", "small-deflated.pth", sd, "zip", "")
    # Every central-directory size and offset moved into zip64 extra fields (as a > 4 GB archive has them);
    # Python's zipfile and torch.load must both still read it.
    zip64(os.path.join(OUT, "small-zip.pth"), os.path.join(OUT, "small-zip64.pth"))
    with zipfile.ZipFile(os.path.join(OUT, "small-zip64.pth")) as z:
        assert z.testzip() is None
    assert list(torch.load(os.path.join(OUT, "small-zip64.pth")).keys()) == list(sd.keys())
    expect("small-zip64", "small-zip64.pth", sd, "zip", "")

    # ------------------------------------------------------------------------------ hostile and damaged
    def torch_verdict(path):
        try:
            torch.load(path)
            return "loads"
        except Exception as e:  # noqa: BLE001 - recorded for the report
            return f"{type(e).__name__}: {str(e)[:200]}"

    def hostile(name, data, **info):
        path = os.path.join(OUT, name)
        open(path, "wb").write(data)
        manifest["hostile"].append({"file": name, **info})

    def zip_with(records, prefix="archive"):
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w", zipfile.ZIP_STORED) as z:
            for k, v in records.items():
                z.writestr(f"{prefix}/{k}", v)
        return bio.getvalue()

    def legacy_with(obj_pickle, keys_and_data=()):
        f = io.BytesIO()
        for head in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                                   "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(head, f, protocol=2)
        f.write(obj_pickle)
        pickle.dump([k for k, _, _ in keys_and_data], f, protocol=2)
        for _, numel, data in keys_and_data:
            f.write(struct.pack("<q", numel) + data)
        return f.getvalue()

    def gadget(kind, marker, proto):
        class G:
            def __reduce__(self):
                if kind == "os.system":
                    return (os.system, (f"touch {marker}",))
                if kind == "eval":
                    return (eval, (f"open({marker!r}, 'w').close()",))
                if kind == "popen":
                    return (subprocess.Popen, (["touch", marker],))
                raise ValueError(kind)

        return pickle.dumps(collections.OrderedDict([("fc.weight", [0.0]), ("evil", G())]), protocol=proto)

    for kind, glob in (("os.system", "posix.system"), ("eval", "builtins.eval"), ("popen", "subprocess.Popen")):
        for proto in (2, 4):
            for c in ("zip", "legacy"):
                marker = os.path.join(OUT, f"PWNED-{kind}-{proto}-{c}")
                proof = os.path.join(OUT, f"PROOF-{kind}-{proto}-{c}")
                body = lambda m: zip_with({"data.pkl": gadget(kind, m, proto), "version": b"3\n"}) if c == "zip" \
                    else legacy_with(gadget(kind, m, proto))
                # The twin with the proof marker shows torch.load really runs the gadget.
                open(proof + ".pth", "wb").write(body(proof))
                torch_verdict(proof + ".pth")
                for _ in range(50):  # Popen runs touch asynchronously
                    if os.path.exists(proof):
                        break
                    __import__("time").sleep(0.02)
                hostile(f"gadget-{kind}-p{proto}-{c}.pth", body(marker), problem="global", glob=glob, marker=marker,
                        torchRan=os.path.exists(proof))
    literal_marker = os.path.join(OUT, "PWNED-literal")
    hostile("os-system-literal.pth",
            zip_with({"data.pkl": b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(f"touch {literal_marker}"))
                      + f"touch {literal_marker}".encode() + b"\x85R.", "version": b"3\n"}),
            problem="global", glob="os.system", marker=literal_marker)
    hostile("load-from-bytes.pth", zip_with({"data.pkl": pickle.dumps({"w": torch.randn(3)}, protocol=2)}),
            problem="global", glob="torch.storage._load_from_bytes")

    class Net(nn.Module):  # a user's own model class, pickled whole as __main__.Net
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

    Net.__module__ = "__main__"
    Net.__qualname__ = "Net"
    globals()["Net"] = Net
    for c in ("zip", "legacy"):
        p = os.path.join(OUT, f"whole-resnet18-{c}.pth")
        torch.save(torchvision.models.resnet18(), p, _use_new_zipfile_serialization=(c == "zip"))
        manifest["hostile"].append({"file": os.path.basename(p), "problem": "model",
                                    "glob": "torchvision.models.resnet.ResNet"})
    p = os.path.join(OUT, "whole-main-net.pth")
    torch.save(Net(), p)
    manifest["hostile"].append({"file": "whole-main-net.pth", "problem": "model", "glob": "__main__.Net"})
    p = os.path.join(OUT, "torchscript.pt")
    torch.jit.save(torch.jit.script(SmallNet()), p)
    manifest["hostile"].append({"file": "torchscript.pt", "problem": "torchscript"})

    # Bombs: nesting via the stack (no marks), nesting via marks, and memo sharing (10^40 items if expanded).
    n = 200_000
    hostile("bomb-nested-lists.pth", zip_with({"data.pkl": b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."}),
            problem="bomb")
    hostile("bomb-marks.pth", zip_with({"data.pkl": b"\x80\x02" + b"(" * n + b"l" * n + b"."}), problem="bomb")
    laughs = bytearray(b"\x80\x02]q\x000")
    for i in range(1, 41):  # level i: a list of 10 references to level i-1
        laughs += b"](" + (b"h" + bytes([i - 1])) * 10 + b"eq" + bytes([i]) + b"0"
    laughs += b"h" + bytes([40]) + b"."
    assert len(pickle.loads(bytes(laughs))) == 10
    hostile("bomb-laughs.pth", zip_with({"data.pkl": bytes(laughs)}), problem="nostatedict")
    hostile("bomb-laughs-legacy.pth", legacy_with(bytes(laughs)), problem="nostatedict")

    # Tensors whose view does not fit their storage, written with torch's own rebuild function.
    class Storage:
        def __init__(self, key, numel):
            self.key, self.numel = key, numel

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, self.args)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
            return None

    def crafted(name, problem, numel, offset, size, stride, data_floats=None, **extra):
        bio = io.BytesIO()
        P(bio, protocol=2).dump(collections.OrderedDict([("w", Tensor(Storage("0", numel), offset, size, stride))]))
        data = struct.pack(f"<{data_floats if data_floats is not None else numel}f",
                           *range(data_floats if data_floats is not None else numel))
        hostile(name, zip_with({"data.pkl": bio.getvalue(), "data/0": data, "version": b"3\n"}), problem=problem,
                **extra)
        manifest["hostile"][-1]["torch"] = torch_verdict(os.path.join(OUT, name))
        if problem == "ok":
            manifest["hostile"].pop()
            expect(name[:-4], name, torch.load(os.path.join(OUT, name)), "zip", "")

    crafted("offset-past-end.pth", "bounds", 10, 8, (4,), (1,))
    crafted("stride-past-end.pth", "bounds", 12, 0, (3, 4), (4, 2))
    crafted("negative-shape.pth", "shape", 12, 0, (-1, 3), (3, 1))
    crafted("huge-shape.pth", "huge", 1, 0, (65536, 65536), (0, 0))
    crafted("expand-bomb.pth", "expand", 1, 0, (30000, 30000), (0, 0))  # 3.6 GB of float32 from a 1 KB file
    crafted("short-storage.pth", "short", 100, 0, (10,), (1,), data_floats=10)
    crafted("crafted-ok.pth", "ok", 12, 2, (2, 3), (1, 4))  # a valid strided view: the crafting is sound

    whole = open(os.path.join(OUT, "small-zip.pth"), "rb").read()
    hostile("truncated-zip.pth", whole[: len(whole) * 6 // 10], problem="truncated")
    leg = open(os.path.join(OUT, "small-legacy.pth"), "rb").read()
    hostile("truncated-legacy.pth", leg[: len(leg) - 100], problem="truncated")
    with zipfile.ZipFile(os.path.join(OUT, "small-zip.pth")) as z:
        recs = {i.filename.split("/", 1)[1]: z.read(i.filename) for i in z.infolist()}
    hostile("no-data-pkl.pth", zip_with({k: v for k, v in recs.items() if k != "data.pkl"}), problem="nodatapkl")
    hostile("no-storage-record.pth", zip_with({k: v for k, v in recs.items() if k != "data/0"}), problem="norecord")
    p = os.path.join(OUT, "quantized.pth")
    torch.save({"q": torch.quantize_per_tensor(torch.randn(4), 0.1, 10, torch.quint8)}, p)
    manifest["hostile"].append({"file": "quantized.pth", "problem": "quantized"})
    p = os.path.join(OUT, "sparse.pth")
    torch.save({"s": torch.randn(3, 3).to_sparse()}, p)
    manifest["hostile"].append({"file": "sparse.pth", "problem": "sparse"})
    hostile("bare-pickle.pkl", pickle.dumps({"a": 1}, protocol=2), problem="nottorch")
    hostile("empty.pth", b"", problem="nottorch")
    hostile("png.pth", b"\x89PNG\r\n\x1a\n" + bytes(100), problem="nottorch")
    hostile("other-zip.pth", zip_with({"hello.txt": b"hi"}, prefix="stuff"), problem="nottorchzip")
    hostile("epoch-only.pth", zip_with({"data.pkl": pickle.dumps({"epoch": 3, "lr": 0.1}, protocol=2)}),
            problem="nostatedict")

    json.dump(manifest, open(os.path.join(OUT, "manifest.json"), "w"), indent=1)


if MODE == "pickles":
    pickles()
elif MODE == "torch":
    torch_files()
else:
    sys.exit(f"unknown mode {MODE}")
