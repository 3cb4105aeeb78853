# LPIPS v0.1 (AlexNet) in PyTorch, as the lpips package computes it, from the safetensors file the
# TypeScript test writes: python3 lpips_reference.py WEIGHTS IMAGES -> JSON list of distances.
# IMAGES: a safetensors file with "a" and "b", [N, 3, H, W] in [0, 1].
import json, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(v['shape']).copy()).double()
    return out

w = load(sys.argv[1])
imgs = load(sys.argv[2])
shift = torch.tensor([-.030, -.088, -.188], dtype=torch.float64).view(1, 3, 1, 1)
scale = torch.tensor([.458, .448, .450], dtype=torch.float64).view(1, 3, 1, 1)

def taps(x):
    x = ((2 * x - 1) - shift) / scale
    out = []
    for i, (k, s, p, pool) in zip([0, 3, 6, 8, 10], [(11, 4, 2, False), (5, 1, 2, True), (3, 1, 1, True), (3, 1, 1, False), (3, 1, 1, False)]):
        if pool:
            x = F.max_pool2d(x, 3, 2)
        x = F.relu(F.conv2d(x, w[f'features.{i}.weight'], w[f'features.{i}.bias'], stride=s, padding=p))
        out.append(x)
    return out

def norm(t):
    return t / (torch.sqrt(torch.sum(t ** 2, dim=1, keepdim=True)) + 1e-10)

ta, tb = taps(imgs['a']), taps(imgs['b'])
d = sum(F.conv2d((norm(x) - norm(y)) ** 2, w[f'lin{k}.model.1.weight']).mean(dim=(2, 3)).flatten() for k, (x, y) in enumerate(zip(ta, tb)))
print(json.dumps(d.tolist()))
