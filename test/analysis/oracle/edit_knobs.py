"""PyTorch oracle for the what-if editor's architecture knobs (test/analysis/architecture-edit.test.ts).

Builds torchvision's own DenseNet, MobileNetV2 and VGG classes with the knob values the test asks for and prints,
as one JSON object, each network's parameter count (PyTorch convention: no BatchNorm running statistics) and the
output shape of the last feature map for a 224x224 image. Exit 3 when torch / torchvision are missing.
"""
import json
import sys

try:
    import torch
    from torch import nn
    from torchvision.models.densenet import DenseNet
    from torchvision.models.mobilenetv2 import MobileNetV2
    from torchvision.models.vgg import VGG, make_layers
except ImportError as e:  # pragma: no cover - reported to the test
    print(f"missing: {e}", file=sys.stderr)
    sys.exit(3)


def count(m):
    return sum(p.numel() for p in m.parameters())


def features_shape(features):
    with torch.no_grad():
        y = features(torch.zeros(1, 3, 224, 224))
    return [int(y.shape[2]), int(y.shape[3]), int(y.shape[1])]  # H, W, C like the app


def densenet(k):
    m = DenseNet(growth_rate=k, block_config=(6, 12, 24, 16), num_init_features=64).eval()
    return {"params": count(m), "features": features_shape(m.features)}


def mobilenet(alpha, t):
    setting = [
        [1, 16, 1, 1],
        [t, 24, 2, 2],
        [t, 32, 3, 2],
        [t, 64, 4, 2],
        [t, 96, 3, 1],
        [t, 160, 3, 2],
        [t, 320, 1, 1],
    ]
    m = MobileNetV2(width_mult=alpha, inverted_residual_setting=setting).eval()
    return {"params": count(m), "features": features_shape(m.features)}


def vgg(convs, gap):
    widths = [64, 128, 256, 512, 512]
    cfg = []
    for w, n in zip(widths, convs):
        cfg += [w] * n + ["M"]
    features = make_layers(cfg)
    if gap:
        # Global average pooling, then fc1 on 512 values: torchvision's classifier with its first Linear resized.
        head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(True), nn.Linear(4096, 4096),
            nn.ReLU(True), nn.Linear(4096, 1000),
        )
        m = nn.Sequential(features, head)
        fc1 = 512 * 4096 + 4096
    else:
        m = VGG(features, init_weights=False)
        fc1 = count(m.classifier[0])
    return {"params": count(m), "fc1": fc1, "features": features_shape(features)}


def main():
    out = {
        "densenet": {str(k): densenet(k) for k in (12, 24, 32, 48)},
        "mobilenet": {f"{a}/{t}": mobilenet(a, t) for a, t in ((1.0, 6), (0.5, 6), (0.75, 6), (1.4, 6), (1.0, 4), (0.5, 3))},
        "vgg": {
            "1,1,2,2,2/0": vgg([1, 1, 2, 2, 2], False),
            "2,2,4,4,4/0": vgg([2, 2, 4, 4, 4], False),
            "2,2,3,3,3/1": vgg([2, 2, 3, 3, 3], True),
            "1,2,3,4,5/1": vgg([1, 2, 3, 4, 5], True),
        },
    }
    json.dump(out, sys.stdout)


main()
