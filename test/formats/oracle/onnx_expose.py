"""Prepares a real ONNX file for the onnxruntime oracle (test/formats/onnx-real.test.ts).

Usage: onnx_expose.py IN.onnx OUT.onnx
Writes a copy whose every node output is also a graph output (so onnxruntime returns every activation) and prints
JSON: {"params": values in float initializers, "outputs": [names added]}. Counts with the onnx package, independently
of the app's reader.
"""
import json
import sys

try:
    import numpy as np
    import onnx
except ImportError as e:
    print(f"MISSING-DEPS: {e}", file=sys.stderr)
    sys.exit(3)

m = onnx.load(sys.argv[1])
g = m.graph
floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE)
params = sum(int(np.prod(t.dims)) for t in g.initializer if t.data_type in floats)
have = {o.name for o in g.output}
added = []
for n in g.node:
    if n.op_type in ("Constant", "Shape"):  # not activations
        continue
    for o in n.output:
        if o and o not in have:
            g.output.append(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None))
            have.add(o)
            added.append(o)
onnx.save(m, sys.argv[2])
print(json.dumps({"params": params, "outputs": added}))
