"""Shared pieces of the PyTorch twins: the reference tensors (fixtures/reference), the timing rule
of ../shared/reference/torch_bench.py (5 warm-up calls, median of 40), and the models the
reference does not define: CIFAR ResNet-18 in the functional style of fixtures/reference/models.py."""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "reference")
sys.path.insert(0, FIXTURES)  # models.py: the reference's exact model and loss definitions
import models  # noqa: E402

WARM, ITERS = 5, 40
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2470, 0.2435, 0.2616]


def load_tensors():
    man = json.load(open(os.path.join(FIXTURES, "tensors.json")))
    buf = np.fromfile(os.path.join(FIXTURES, "tensors.bin"), dtype="<f4")
    out = {}
    for k, m in man.items():
        n = int(np.prod(m["shape"])) if m["shape"] else 1
        out[k] = torch.from_numpy(buf[m["offset"]:m["offset"] + n].copy()).reshape(m["shape"])
    return out


def params(T, prefix, names):
    return {n: T[f"{prefix}.{n}"].clone().requires_grad_(True) for n in names}


def median_ms(step, warm=WARM, iters=ITERS):
    for _ in range(warm):
        step()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def one_hot(y, classes=10):
    return F.one_hot(y.long(), classes).float()


# ---------- CIFAR ResNet-18 (3x3 stem, BasicBlocks 2-2-2-2, 1x1 shortcuts), as src/models/resnet.ts

def resnet18_params(seed=0, width=64):
    g = torch.Generator().manual_seed(seed)
    p, blocks = {}, []

    def conv(name, cin, cout, k):
        bound = 1 / (cin * k * k) ** 0.5
        p[name] = ((torch.rand(cout, cin, k, k, generator=g) * 2 - 1) * bound).requires_grad_(True)

    def bn(name, c):
        p[name + ".w"] = torch.ones(c, requires_grad=True)
        p[name + ".b"] = torch.zeros(c, requires_grad=True)

    conv("conv1", 3, width, 3)
    bn("bn1", width)
    cin = width
    for stage, mult in enumerate([1, 2, 4, 8]):
        c = width * mult
        for b in range(2):
            stride = 2 if b == 0 and stage > 0 else 1
            pre = f"layer{stage + 1}.{b}"
            shortcut = stride != 1 or cin != c
            conv(pre + ".conv1", cin, c, 3)
            bn(pre + ".bn1", c)
            conv(pre + ".conv2", c, c, 3)
            bn(pre + ".bn2", c)
            if shortcut:
                conv(pre + ".sc", cin, c, 1)
                bn(pre + ".scbn", c)
            blocks.append((pre, stride, shortcut))
            cin = c
    bound = 1 / cin ** 0.5
    p["fc.w"] = ((torch.rand(10, cin, generator=g) * 2 - 1) * bound).requires_grad_(True)
    p["fc.b"] = ((torch.rand(10, generator=g) * 2 - 1) * bound).requires_grad_(True)
    running = {k[:-2]: (torch.zeros(v.shape[0]), torch.ones(v.shape[0])) for k, v in p.items() if k.endswith(".w") and v.dim() == 1}
    return p, blocks, running


def resnet18(p, blocks, x, training, running=None):
    def bn(name, h):
        if training:
            return F.batch_norm(h, None, None, p[name + ".w"], p[name + ".b"], training=True)
        rm, rv = running[name]
        return F.batch_norm(h, rm, rv, p[name + ".w"], p[name + ".b"], training=False)

    y = F.relu(bn("bn1", F.conv2d(x, p["conv1"], padding=1)))
    for pre, stride, shortcut in blocks:
        h = F.relu(bn(pre + ".bn1", F.conv2d(y, p[pre + ".conv1"], stride=stride, padding=1)))
        h = bn(pre + ".bn2", F.conv2d(h, p[pre + ".conv2"], padding=1))
        s = bn(pre + ".scbn", F.conv2d(y, p[pre + ".sc"], stride=stride)) if shortcut else y
        y = F.relu(h + s)
    return F.linear(y.mean((2, 3)), p["fc.w"], p["fc.b"])


def ig_objective(grads, target, x, tv_weight):
    """Inverting Gradients: 1 - cos over all parameters flattened together, + tv_weight * TV."""
    dot = sum((g * t).sum() for g, t in zip(grads, target))
    gg = sum((g * g).sum() for g in grads)
    tt = sum((t * t).sum() for t in target)
    return 1 - dot / (torch.sqrt(gg) * torch.sqrt(tt)) + tv_weight * models.tv(x)
