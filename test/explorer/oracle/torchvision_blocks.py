"""Independent oracle for block recognition: torchvision's own module classes, counted and sized.

Prints JSON: for each architecture, the number of each unit and every unit's parameter count (PyTorch's count,
without BatchNorm running statistics), in model order. No weights are downloaded (weights=None).
"""
import json

import torchvision.models as m
from torchvision.models.densenet import _DenseBlock, _DenseLayer, _Transition
from torchvision.models.googlenet import Inception
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import Bottleneck


def units(model, cls):
    return [x for x in model.modules() if isinstance(x, cls)]


def sizes(mods):
    return [sum(p.numel() for p in x.parameters()) for x in mods]


g = m.googlenet(weights=None, aux_logits=False, init_weights=False)
r = m.resnet50(weights=None)
d = m.densenet121(weights=None)
mb = m.mobilenet_v2(weights=None)
out = {
    "googlenet": {"inception": sizes(units(g, Inception))},
    "resnet50": {
        "bottleneck": sizes(units(r, Bottleneck)),
        "projection": [x.downsample is not None for x in units(r, Bottleneck)],
    },
    "densenet121": {
        "denseLayer": sizes(units(d, _DenseLayer)),
        "denseBlock": [len(units(b, _DenseLayer)) for b in units(d, _DenseBlock)],
        "transition": sizes(units(d, _Transition)),
    },
    "mobilenetv2": {
        "inverted": sizes(units(mb, InvertedResidual)),
        "residual": [x.use_res_connect for x in units(mb, InvertedResidual)],
    },
}
print(json.dumps(out))
