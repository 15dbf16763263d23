"""PyTorch oracle for the .pth reader (test/formats/pytorch.test.ts).

For each supported torchvision architecture: build it with torch.manual_seed(0) random weights (nothing is
downloaded: weights=None), give every BatchNorm2d non-trivial statistics, save model.state_dict() with
torch.save (zip container, or the legacy one for some), run one fixed preprocessed input through model.eval()
with forward hooks, and write the hooked outputs and the logits as raw float32 (NCHW, batch 1).

The files mirror torchvision's published checkpoints: GoogLeNet and Inception-v3 are built with
aux_logits=True (their published files carry aux1/aux2 and AuxLogits tensors) and transform_input=True (what
torchvision sets when it loads those weights); DenseNet-121's file uses the old key names `norm.1` / `conv.1` of
densenet121-a639ec97.pth. Also written: ResNet-18 with a 10-class head and a small network that is none of them.

With --images a.png,b.png it also writes torchvision's ImageNet evaluation transform of each photo — PIL
bilinear Resize(256) + CenterCrop(224), and Resize(342) + CenterCrop(299) for Inception — as raw uint8 RGB (HWC),
and the class names torchvision ships (`_IMAGENET_CATEGORIES`).

Usage: torchvision_ref.py OUT_DIR [--images a.png,b.png] [name ...]. Exit 3 when torch / torchvision are missing.
"""
import json
import os
import re
import sys

try:
    import torch
    import torch.nn as nn
    import torchvision.models as tvm
except ImportError as e:  # pragma: no cover - the test turns this into an install hint
    print(f"missing: {e}", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(2)


def resnet_hooks(n):
    """Hooked modules of a ResNet with blocks n, and the app's node for each."""
    last = lambda layer: f"layer{layer}.{n[layer - 1] - 1}.relu"
    return [
        ("conv1", "conv1"),
        ("bn1", "bn1"),
        ("maxpool", "maxpool"),
        ("layer1", last(1)),
        ("layer2.0.conv2", "layer2.0.conv2"),
        ("layer2.0.downsample.1", "layer2.0.downsample.1"),
        ("layer3", last(3)),
        ("layer4", last(4)),
        ("avgpool", "avgpool"),
    ]


# name, torchvision builder, kwargs, input H=W, container, file name, hooks [(module, app node)], logits node
MODELS = [
    (
        "alexnet", "alexnet", {}, 224, "zip", "alexnet-owt-7be5be79.pth",
        [("features.0", "features.0"), ("features.2", "features.2"), ("features.5", "features.5"),
         ("features.7", "features.7"), ("features.12", "features.12"), ("avgpool", "avgpool"),
         ("classifier.1", "classifier.1"), ("classifier.5", "classifier.5")],
        "classifier.6",
    ),
    (
        "vgg16", "vgg16", {}, 224, "zip", "vgg16-397923af.pth",
        [("features.0", "features.0"), ("features.4", "features.4"), ("features.9", "features.9"),
         ("features.16", "features.16"), ("features.23", "features.23"), ("features.30", "features.30"),
         ("classifier.0", "classifier.0"), ("classifier.3", "classifier.3")],
        "classifier.6",
    ),
    (
        "vgg16_bn", "vgg16_bn", {}, 224, "legacy", "vgg16_bn-6c64b313.pth",
        [("features.1", "features.1"), ("features.6", "features.6"), ("features.14", "features.14"),
         ("features.25", "features.25"), ("features.33", "features.33"), ("features.41", "features.41"),
         ("classifier.3", "classifier.3")],
        "classifier.6",
    ),
    (
        "googlenet", "googlenet", {"aux_logits": True, "transform_input": True, "init_weights": False}, 96, "zip",
        "googlenet-1378be20.pth",
        [("conv1.conv", "conv1.conv"), ("maxpool1", "maxpool1"), ("inception3a", "inception3a"),
         ("inception4a.branch4.0", "inception4a.branch4.0"), ("maxpool3", "maxpool3"),
         ("inception4e", "inception4e"), ("maxpool4", "maxpool4"), ("inception5b", "inception5b"),
         ("avgpool", "avgpool")],
        "fc",
    ),
    ("resnet18", "resnet18", {}, 96, "legacy", "resnet18-f37072fd.pth", resnet_hooks([2, 2, 2, 2]), "fc"),
    ("resnet34", "resnet34", {}, 64, "zip", "resnet34-b627a593.pth", resnet_hooks([3, 4, 6, 3]), "fc"),
    ("resnet50", "resnet50", {}, 64, "zip", "resnet50-0676ba61.pth", resnet_hooks([3, 4, 6, 3]), "fc"),
    ("resnet101", "resnet101", {}, 64, "zip", "resnet101-63fe2227.pth", resnet_hooks([3, 4, 23, 3]), "fc"),
    (
        "densenet121", "densenet121", {}, 64, "legacy", "densenet121-a639ec97.pth",
        [("features.conv0", "features.conv0"), ("features.pool0", "features.pool0"),
         ("features.denseblock1", "features.denseblock1.denselayer6.cat"),
         ("features.transition1", "features.transition1.pool"),
         ("features.denseblock2.denselayer3.conv2", "features.denseblock2.denselayer3.conv2"),
         ("features.denseblock3", "features.denseblock3.denselayer24.cat"),
         ("features.norm5", "features.norm5")],
        "classifier",
    ),
    (
        "mobilenet_v2", "mobilenet_v2", {}, 96, "zip", "mobilenet_v2-b0353104.pth",
        [("features.0", "features.0.2"), ("features.1", "features.1.conv.2"),
         ("features.2.conv.1.0", "features.2.conv.1.0"), ("features.3", "features.3.add"),
         ("features.14", "features.14.conv.3"), ("features.16", "features.16.add"),
         ("features.18", "features.18.2")],
        "classifier.1",
    ),
    (
        "inception_v3", "inception_v3", {"aux_logits": True, "transform_input": True, "init_weights": False}, 139,
        "zip", "inception_v3_google-0cc3c7bd.pth",
        [("Conv2d_1a_3x3", "Conv2d_1a_3x3.relu"), ("maxpool1", "maxpool1"), ("Mixed_5b", "Mixed_5b"),
         ("Mixed_5b.branch_pool", "Mixed_5b.branch_pool.relu"), ("Mixed_6a", "Mixed_6a"),
         ("Mixed_6e", "Mixed_6e"), ("Mixed_7a", "Mixed_7a"), ("Mixed_7c", "Mixed_7c"), ("avgpool", "avgpool")],
        "fc",
    ),
    (
        "resnet18_head10", "resnet18", {"num_classes": 10}, 64, "zip", "my-finetuned-resnet18.pth",
        [("layer4", "layer4.1.relu"), ("avgpool", "avgpool")],
        "fc",
    ),
]

RGBA = False
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def randomise_bn(model, g):
    """BN statistics and affine values away from 0 / 1, so folding them is exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def densenet_old_names(sd):
    """The key names of torchvision's published densenet121 file (norm.1 for norm1, conv.2 for conv2, …)."""
    pat = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$")
    return type(sd)((pat.sub(r"\1.\2.\3", k), v) for k, v in sd.items())


def write(out, name, t):
    path = os.path.join(out, name)
    t.detach().contiguous().numpy().astype("float32").tofile(path)
    return name


def build(name, builder, kwargs, size, container, fname, hooks, logits, out):
    torch.manual_seed(0)
    model = getattr(tvm, builder)(weights=None, **kwargs)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        randomise_bn(model, g)
    model.eval()
    sd = model.state_dict()
    if builder == "densenet121":
        sd = densenet_old_names(sd)
    torch.save(sd, os.path.join(out, fname), _use_new_zipfile_serialization=(container == "zip"))
    # One preprocessed input: a seeded image in 0..1, normalised with ImageNet mean / std. With --rgba, an 8-bit
    # 224×224 image (written as RGBA bytes too), so an engine that takes pixels sees exactly this input.
    gi = torch.Generator().manual_seed(2)
    if RGBA:
        size = 224  # the torchvision graphs' own input size: the engine takes the pixels as they are
        q = torch.randint(0, 256, (1, 3, size, size), generator=gi, dtype=torch.uint8)
        x = (q.float() / 255 - MEAN) / STD
        alpha = torch.full((1, size, size), 255, dtype=torch.uint8)
        torch.cat([q[0], alpha]).permute(1, 2, 0).contiguous().numpy().tofile(os.path.join(out, f"{name}.rgba"))
    else:
        x = (torch.rand(1, 3, size, size, generator=gi) - MEAN) / STD
    got = {}
    modules = dict(model.named_modules())
    handles = []
    for module, _ in hooks:
        # Clone: the in-place ReLUs that follow would overwrite the tensor the hook sees.
        handles.append(modules[module].register_forward_hook(
            lambda _m, _i, o, module=module: got.__setitem__(module, o.detach().clone())))
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    layers = []
    for i, (module, node) in enumerate(hooks):
        t = got[module]
        layers.append({"module": module, "node": node, "shape": list(t.shape), "bin": write(out, f"{name}.{i}.bin", t)})
    aux = ("aux1.", "aux2.", "AuxLogits.")
    params = sum(p.numel() for k, p in model.named_parameters() if not k.startswith(aux))
    stats = sum(b.numel() for k, b in model.named_buffers() if k.endswith(("running_mean", "running_var")) and not k.startswith(aux))
    return {
        "name": name,
        "arch": builder,
        "file": fname,
        "container": container,
        "classes": y.shape[1],
        "inputShape": list(x.shape),
        "input": write(out, f"{name}.input.bin", x),
        **({"rgba": f"{name}.rgba"} if RGBA else {}),
        "layers": layers,
        "output": {"node": logits, "shape": list(y.shape), "bin": write(out, f"{name}.logits.bin", y)},
        "top5": torch.topk(y[0], 5).indices.tolist(),
        "params": params,
        "bnStats": stats,
        "tensors": len(sd),
        "auxTensors": sum(1 for k in sd if k.startswith(aux) and not k.endswith("num_batches_tracked")),
    }


class Small(nn.Module):
    """A network that is none of torchvision's classifiers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.head = nn.Linear(32, 5)


def transforms(out, images):
    """torchvision's evaluation transforms of each photo, as the app's preview would show them (uint8 RGB)."""
    import numpy as np
    from PIL import Image
    from torchvision import transforms as T
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    done = []
    for i, path in enumerate(images):
        img = Image.open(path).convert("RGB")
        for resize, crop in ((256, 224), (342, 299)):
            t = T.Compose([T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(crop)])
            name = f"image{i}.{resize}-{crop}.rgb"
            np.asarray(t(img), dtype=np.uint8).tofile(os.path.join(out, name))
            done.append({"image": path, "resize": resize, "crop": crop, "bin": name})
    return {"crops": done, "categories": list(_IMAGENET_CATEGORIES)}


def main():
    args = sys.argv[1:]
    out = args.pop(0)
    images = []
    if "--images" in args:
        i = args.index("--images")
        images = args[i + 1].split(",")
        del args[i : i + 2]
    global RGBA
    RGBA = "--rgba" in args
    only = set(a for a in args if a != "--rgba")
    os.makedirs(out, exist_ok=True)
    models = [build(*spec, out) for spec in MODELS if not only or spec[0] in only]
    torch.manual_seed(0)
    small = Small().state_dict()
    torch.save(small, os.path.join(out, "small.pth"))
    manifest = {
        "models": models,
        "small": {
            "file": "small.pth",
            "tensors": len(small),
            "params": sum(v.numel() for v in small.values()),
            "keys": [[k, list(v.shape)] for k, v in small.items()],
        },
        "transforms": transforms(out, images),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
