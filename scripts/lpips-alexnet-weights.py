# Writes the LPIPS weights `dgp attack --lpips-weights FILE` reads: torchvision's pretrained AlexNet
# features (features.{0,3,6,8,10}.{weight,bias}) and the lpips package's v0.1 channel weights
# (lin{0..4}.model.1.weight), as one float32 safetensors file. Run it where pip and the internet
# are available (the toolkit itself downloads nothing):
#   pip install torch torchvision lpips
#   python3 scripts/lpips-alexnet-weights.py lpips-alex.safetensors
# Not run on the project's own machines (no network there); the names follow lpips 0.1.4.
import json
import struct
import sys

import lpips
import torch

out = sys.argv[1] if len(sys.argv) > 1 else 'lpips-alex.safetensors'
model = lpips.LPIPS(net='alex', version='0.1', verbose=False)
tensors = {}
for name, p in model.named_parameters():
    parts = name.split('.')
    if parts[0] == 'net':  # net.sliceK.<torchvision index>.<weight|bias>
        tensors[f'features.{parts[2]}.{parts[3]}'] = p
    elif parts[0].startswith('lin'):  # linK.model.1.weight
        tensors[name] = p
expected = [f'features.{i}.{k}' for i in (0, 3, 6, 8, 10) for k in ('weight', 'bias')] + [f'lin{k}.model.1.weight' for k in range(5)]
missing = [n for n in expected if n not in tensors]
if missing:
    sys.exit(f'lpips model lacks {missing}; found {sorted(tensors)}')

header, blobs, offset = {'__metadata__': {'source': 'torchvision alexnet + lpips v0.1'}}, [], 0
for name in expected:
    data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
    header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
head = json.dumps(header).encode()
head += b' ' * ((8 - len(head) % 8) % 8)
with open(out, 'wb') as f:
    f.write(struct.pack('<Q', len(head)))
    f.write(head)
    for b in blobs:
        f.write(b)
print(f'wrote {out}: {len(expected)} tensors, {offset / 1e6:.1f} MB')
