"""PyTorch oracle for the ONNX format tests (run by test/formats/onnx-oracle.test.ts with /usr/bin/python3).

Builds small CNNs and torchvision models with seeded weights, exports them with torch.onnx.export at several
opsets (one with external data), and records reference activations with forward hooks for a fixed seeded input.

Usage: onnx_oracle.py OUT_DIR
Writes OUT_DIR/manifest.json and, per model, the .onnx file (+ .onnx.data), the input and every reference
activation as raw little-endian float32 in PyTorch's NCHW order.
"""
import json
import os
import sys

try:
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # the test turns this into a failure with the apt hint
    print(f"MISSING-DEPS: {e}", file=sys.stderr)
    sys.exit(3)


class Flat(nn.Module):
    """x.view(x.size(0), -1): exercises the Shape → Gather → Unsqueeze → Concat → Reshape chain."""

    def forward(self, x):
        return x.view(x.size(0), -1)


class AddM(nn.Module):
    def forward(self, a, b):
        return a + b


class CatM(nn.Module):
    def forward(self, a, b):
        return torch.cat([a, b], 1)


class Norm(nn.Module):
    """Per-channel (x − mean) / std with constants: ONNX Sub and Div by constant tensors."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.5, 0.25, 0.75]).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Clamp(nn.Module):
    def forward(self, x):
        return torch.clamp(x, -0.5, 0.5)


class LeNetBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.act2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2, 2, padding=1, count_include_pad=False)
        self.flat = Flat()
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.act3 = nn.Tanh()
        self.fc2 = nn.Linear(32, 10)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.pool1(self.act1(self.bn1(self.conv1(x))))
        x = self.pool2(self.act2(self.conv2(x)))
        return self.soft(self.fc2(self.act3(self.fc1(self.flat(x)))))


class MixNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = Norm()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.stem_act = nn.Hardswish()
        self.grouped = nn.Conv2d(16, 32, 3, padding=1, groups=4)
        self.grouped_act = nn.LeakyReLU(0.1)
        self.dw = nn.Conv2d(32, 64, 3, padding=2, dilation=2, groups=32)
        self.dw_act = nn.ReLU6()
        self.pw = nn.Conv2d(64, 16, 1)
        self.pw_act = nn.Sigmoid()
        self.res = AddM()
        self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.up_act = nn.PReLU(8)
        self.ups = nn.Upsample(scale_factor=2, mode="nearest")
        self.cat = CatM()
        self.head = nn.Conv2d(24, 8, 1)
        self.head_act = Clamp()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        s = self.stem_act(self.stem(self.norm(x)))
        y = self.grouped_act(self.grouped(s))
        y = self.dw_act(self.dw(y))
        y = self.pw_act(self.pw(y))
        r = self.res(y, s)
        u = self.up_act(self.up(r))
        c = self.cat(u, self.ups(r))
        h = self.head_act(self.head(c))
        return self.fc(torch.flatten(self.gap(h), 1))


class ActNet(nn.Module):
    """ELU, SELU, bilinear upsampling, ZeroPad2d, AvgPool with ceil_mode and count_include_pad, channel softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.elu = nn.ELU(0.7)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.selu = nn.SELU()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.pad = nn.ZeroPad2d((1, 2, 0, 1))
        self.pool = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=True)
        self.conv3 = nn.Conv2d(8, 6, 1)
        self.tanh = nn.Tanh()
        self.drop = nn.Dropout(0.3)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.selu(self.conv2(self.elu(self.conv1(x))))
        x = self.pool(self.pad(self.up(x)))
        return self.soft(self.drop(self.tanh(self.conv3(x))))


class Permute(nn.Module):
    def __init__(self, *perm):
        super().__init__()
        self.perm = perm

    def forward(self, x):
        return x.permute(*self.perm)


class NhwcNet(nn.Module):
    """Takes NHWC images (permutes them itself) and flattens in NHWC order: no row permutation for the Linear."""

    def __init__(self):
        super().__init__()
        self.to_nchw = Permute(0, 3, 1, 2)
        self.conv = nn.Conv2d(3, 6, 3, stride=2)
        self.bn = nn.BatchNorm2d(6)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.to_nhwc = Permute(0, 2, 3, 1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6 * 3 * 3, 7)
        self.sig = nn.Sigmoid()

    def forward(self, x):
        x = self.pool(self.relu(self.bn(self.conv(self.to_nchw(x)))))
        return self.sig(self.fc(self.flat(self.to_nhwc(x))))


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(c, generator=gen) - 0.5)
                m.running_mean.copy_((torch.rand(c, generator=gen) - 0.5) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def scope_of(qualname):
    """torch 1.13 node-name scope for a module: '/layer1/layer1.0/conv1/' (numeric children carry their parent)."""
    parts = qualname.split(".")
    comps = []
    for p in parts:
        comps.append(f"{comps[-1]}.{p}" if p.isdigit() and comps else p)
    return "/" + "/".join(comps) + "/"


def save_bin(path, t):
    np.ascontiguousarray(t.detach().numpy().astype("<f4")).tofile(path)


def export(out, name, model, input_shape, opset, hooks, eval_mode=False, external=False):
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    x = torch.rand(*input_shape, generator=gen) * 2 - 1
    recorded = {}
    handles = []
    for q in hooks:
        mod = model.get_submodule(q)

        def hook(_m, _i, o, q=q):
            recorded[q] = o.detach().clone()

        handles.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    path = os.path.join(out, f"{name}.onnx")
    training = torch.onnx.TrainingMode.EVAL if eval_mode else torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(
        model,
        x,
        path,
        opset_version=opset,
        training=training,
        do_constant_folding=True,
        keep_initializers_as_inputs=False,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch_size"}, "logits": {0: "batch_size"}} if external else None,
    )
    files = [f"{name}.onnx"]
    m = onnx.load(path)
    if external:
        data = f"{name}.onnx.data"
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=256)
        files.append(data)
    save_bin(os.path.join(out, f"{name}.input.bin"), x)
    save_bin(os.path.join(out, f"{name}.output.bin"), y)
    nodes = list(m.graph.node)
    layers = []
    for q in hooks:
        scope = scope_of(q)
        inside = [n for n in nodes if n.name.startswith(scope)]
        if not inside or q not in recorded:
            continue
        node = inside[-1]
        ref = recorded[q]
        fn = f"{name}.{len(layers)}.bin"
        save_bin(os.path.join(out, fn), ref)
        layers.append({"module": q, "node": node.name, "tensor": node.output[0], "shape": list(ref.shape), "bin": fn})
    if len(layers) < 5:
        raise SystemExit(f"{name}: only {len(layers)} hooked modules found in the ONNX graph")
    # Independent count: per layer with weights, the values of the initializers it reads (through the Identity
    # nodes the exporter adds for tensors it deduplicated; constants such as Norm's mean / std become the app's
    # 'scale' layers and are not parameters).
    weighted = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "PRelu"}
    sizes = {t.name: int(np.prod(t.dims)) for t in m.graph.initializer}
    for n in nodes:
        if n.op_type == "Identity" and n.input[0] in sizes:
            sizes[n.output[0]] = sizes[n.input[0]]
    params = sum(sizes.get(i, 0) for n in nodes if n.op_type in weighted for i in list(n.input)[1:])
    return {
        "name": name,
        "files": files,
        "opset": opset,
        "inputShape": list(x.shape),
        "input": f"{name}.input.bin",
        "output": {"tensor": m.graph.output[0].name, "shape": list(y.shape), "bin": f"{name}.output.bin"},
        "layers": layers,
        "params": params,
    }


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    models = []
    lenet_hooks = ["conv1", "bn1", "act1", "pool1", "conv2", "pool2", "fc1", "act3", "fc2"]
    for opset in (9, 11, 13, 17):
        torch.manual_seed(0)
        m = LeNetBN()
        randomize_bn(m, torch.Generator().manual_seed(7))
        models.append(export(out, f"lenet-op{opset}", m, (1, 3, 30, 30), opset, lenet_hooks))
    mix_hooks = [
        "norm", "stem", "stem_act", "grouped", "grouped_act", "dw", "dw_act", "pw", "pw_act", "res", "up", "up_act",
        "ups", "cat", "head", "head_act", "gap", "fc",
    ]
    for opset in (9, 11, 13, 17):
        torch.manual_seed(1)
        models.append(export(out, f"mixnet-op{opset}", MixNet(), (1, 3, 32, 32), opset, mix_hooks))
    act_hooks = ["conv1", "elu", "conv2", "selu", "up", "pad", "pool", "conv3", "tanh", "soft"]
    for opset in (11, 13):
        torch.manual_seed(6)
        models.append(export(out, f"actnet-op{opset}", ActNet(), (1, 3, 21, 19), opset, act_hooks))
    torch.manual_seed(7)
    nh = NhwcNet()
    randomize_bn(nh, torch.Generator().manual_seed(11))
    entry = export(out, "nhwcnet-op13", nh, (1, 15, 14, 3), 13, ["conv", "bn", "relu", "pool", "flat", "fc", "sig"],
                   external=True)
    entry["nhwc"] = True
    models.append(entry)
    torch.manual_seed(2)
    r = torchvision.models.resnet18(weights=None)
    randomize_bn(r, torch.Generator().manual_seed(8))
    res_hooks = ["conv1", "bn1", "relu", "maxpool", "layer1.0.conv1", "layer1.0.bn1", "layer1.0", "layer2.0.downsample.1",
                 "layer2.0", "layer3.1", "layer4.1", "avgpool", "fc"]
    models.append(export(out, "resnet18-op13-external", r, (1, 3, 64, 64), 13, res_hooks, external=True))
    torch.manual_seed(3)
    mb = torchvision.models.mobilenet_v2(weights=None)
    randomize_bn(mb, torch.Generator().manual_seed(9))
    mb_hooks = ["features.0", "features.1", "features.2", "features.3", "features.7", "features.14", "features.18",
                "classifier.1"]
    for opset in (9, 11):
        models.append(export(out, f"mobilenetv2-op{opset}", mb, (1, 3, 64, 64), opset, mb_hooks, eval_mode=True))
    torch.manual_seed(4)
    sq = torchvision.models.squeezenet1_1(weights=None)
    sq_hooks = ["features.0", "features.2", "features.3", "features.5", "features.9", "features.12", "classifier.1",
                "classifier.3"]
    models.append(export(out, "squeezenet11-op17", sq, (1, 3, 64, 64), 17, sq_hooks))
    torch.manual_seed(5)
    gn = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    randomize_bn(gn, torch.Generator().manual_seed(10))
    gn_hooks = ["conv1", "maxpool1", "conv3", "inception3a", "inception4a", "maxpool4", "inception5b", "avgpool", "fc"]
    models.append(export(out, "googlenet-op11", gn, (1, 3, 64, 64), 11, gn_hooks))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"models": models}, f, indent=1)


if __name__ == "__main__":
    main()
