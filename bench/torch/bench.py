"""PyTorch twins of `npm run bench` (run side by side by `npm run bench -- --torch`).

Usage: /usr/bin/python3 bench/torch/bench.py [--threads 2] [--only core,attacks,defenses] [--json FILE]
Prints one line per task and writes {"tasks": {task: median ms}, "extra": {...}} to FILE.
Groups:
  core      the six tasks of ../shared/reference/torch_bench.py (the same code, on the repo's copy of
            its tensors in fixtures/reference), plus train_resnet18_b32 (full-width CIFAR ResNet-18,
            batch norm in training mode: loss + parameter gradients + SGD update) and ig_resnet18_b1
            (one Inverting-Gradients iteration, batch 1, batch norm in evaluation mode);
  attacks   whole optimiser iterations: torch.optim.LBFGS (strong Wolfe, history 100) on DLG LeNet
            batch 1, and the signed Adam step of Inverting Gradients (ConvNet and ResNet-18, batch 1,
            ResNet-18's batch norm in training mode as the attacks run it);
  defenses  the DGP rule with error feedback written with torch.topk on a ResNet-18-sized gradient,
            plus packing what is sent into bytes (one thread: the twin of dgp_ef_plus_encode)."""
import argparse
import json
import time

import torch
import torch.nn.functional as F

import common
from common import load_tensors, median_ms, models, one_hot, params

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--only", default="core,attacks,defenses")
ap.add_argument("--json")
args = ap.parse_args()
torch.set_num_threads(args.threads)
groups = set(args.only.split(","))
T = load_tensors()
tasks, extra = {}, {}


def report(name, ms, note=""):
    tasks[name] = ms
    print("%-26s %9.2f ms %s" % (name, ms, note), flush=True)


def true_grads(model, p, names, x, target):
    return [g.detach() for g in models.param_grads(model, p, names, x, target, False)]


def core():
    for B in [1, 4]:
        case = f"dlg_b{B}"
        p = params(T, "lenet", models.LENET_PARAMS)
        gT = true_grads(models.lenet, p, models.LENET_PARAMS, T[case + ".x_true"], one_hot(T[case + ".y_true"]))
        x = T[case + ".x_dummy"].clone().requires_grad_(True)
        lab = T[case + ".label_dummy"].clone().requires_grad_(True)

        def step():
            L = models.dlg_loss(p, x, lab, gT)
            gx, gl = torch.autograd.grad(L, [x, lab])
            with torch.no_grad():
                x.sub_(1e-3 * gx)
                lab.sub_(1e-3 * gl)
        report(case, median_ms(step))
    for B in [1, 8]:
        case = f"ig_b{B}"
        p = params(T, "convnet", models.CONVNET_PARAMS)
        y = one_hot(T[case + ".y_true"])
        gT = true_grads(models.convnet, p, models.CONVNET_PARAMS, T[case + ".x_true"], y)
        x = T[case + ".x_dummy"].clone().requires_grad_(True)

        def step():
            (gx,) = torch.autograd.grad(models.ig_loss(p, x, y, gT), [x])
            with torch.no_grad():
                x.sub_(1e-2 * gx)
        report(case, median_ms(step))
    for mname, model, names, key in [("convnet", models.convnet, models.CONVNET_PARAMS, "train_convnet"), ("mlp", models.mlp, models.MLP_PARAMS, "train_mlp")]:
        p = params(T, mname, names)
        xb, y = T[key + ".x"], one_hot(T[key + ".y"])
        report(key, median_ms(sgd_step(lambda: models.ce_soft(model(p, xb), y), [p[n] for n in names])))
    # ResNet-18, batch 32, training mode: what a client of the paper's setting computes per round.
    p, blocks, _ = common.resnet18_params(0)
    g = torch.Generator().manual_seed(1)
    xb = torch.randn(32, 3, 32, 32, generator=g)
    y = one_hot(torch.arange(32) % 10)
    report("train_resnet18_b32", median_ms(sgd_step(lambda: models.ce_soft(common.resnet18(p, blocks, xb, True), y), list(p.values())), 3, 10))
    # Inverting Gradients on ResNet-18 at batch 1, evaluation-mode batch norm (the reference's IG step).
    p, blocks, running = common.resnet18_params(0)
    ps = list(p.values())
    y = one_hot(torch.tensor([3]))
    fwd = lambda x: common.resnet18(p, blocks, x, False, running)
    gT = [t.detach() for t in torch.autograd.grad(models.ce_soft(fwd(torch.randn(1, 3, 32, 32, generator=g)), y), ps)]
    x = torch.randn(1, 3, 32, 32, generator=g).requires_grad_(True)

    def ig_step():
        grads = torch.autograd.grad(models.ce_soft(fwd(x), y), ps, create_graph=True)
        (gx,) = torch.autograd.grad(common.ig_objective(grads, gT, x, models.TV_WEIGHT), [x])
        with torch.no_grad():
            x.sub_(1e-2 * gx)
    report("ig_resnet18_b1", median_ms(ig_step, 3, 20))


def sgd_step(loss_fn, ps):
    def step():
        g = torch.autograd.grad(loss_fn(), ps)
        with torch.no_grad():
            for pi, gi in zip(ps, g):
                pi.sub_(1e-2 * gi)
    return step


def attacks():
    # DLG on the LeNet, batch 1, from the reference's dummy: torch.optim.LBFGS as DLG runs it, with the
    # tolerances of src/attacks/optimize.ts so that neither side stops early. A first step() of 100
    # iterations fills the history of 100 pairs; the second is timed (history persists in the state).
    p = params(T, "lenet", models.LENET_PARAMS)
    gT = true_grads(models.lenet, p, models.LENET_PARAMS, T["dlg_b1.x_true"], one_hot(T["dlg_b1.y_true"]))
    x = T["dlg_b1.x_dummy"].clone().requires_grad_(True)
    lab = T["dlg_b1.label_dummy"].clone().requires_grad_(True)
    n = 100
    opt = torch.optim.LBFGS([x, lab], lr=1, max_iter=n, max_eval=n * 5 // 4, history_size=100, tolerance_grad=0, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        L = models.dlg_loss(p, x, lab, gT)
        L.backward()
        return L
    opt.step(closure)
    st = opt.state[opt._params[0]]
    it0, ev0 = st["n_iter"], st["func_evals"]
    t0 = time.perf_counter()
    opt.step(closure)
    dt = (time.perf_counter() - t0) * 1e3
    iters, evals = st["n_iter"] - it0, st["func_evals"] - ev0
    extra["dlg_lbfgs_iter_b1.evals_per_iter"] = evals / iters
    report("dlg_lbfgs_iter_b1", dt / iters, "(%d iterations, %.2f evaluations each)" % (iters, evals / iters))

    # Inverting Gradients' whole iteration: objective, gradient, sign, Adam, lr schedule, box.
    def ig_adam(fwd, ps, x_true, y, x0, name, warm, iters):
        gT = [t.detach() for t in torch.autograd.grad(models.ce_soft(fwd(x_true), y), ps)]
        x = x0.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.1)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[375, 625, 875], gamma=0.1)
        mean = torch.tensor(common.CIFAR_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(common.CIFAR_STD).view(1, 3, 1, 1)
        lo, hi = -mean / std, (1 - mean) / std

        def step():
            opt.zero_grad()
            grads = torch.autograd.grad(models.ce_soft(fwd(x), y), ps, create_graph=True)
            L = common.ig_objective(grads, gT, x, 1e-4)
            L.backward()
            x.grad.sign_()
            opt.step()
            sched.step()
            with torch.no_grad():
                x.data = torch.max(torch.min(x, hi), lo)
        report(name, median_ms(step, warm, iters))

    p = params(T, "convnet", models.CONVNET_PARAMS)
    ig_adam(lambda x: models.convnet(p, x), list(p.values()), T["ig_b1.x_true"], one_hot(T["ig_b1.y_true"]), T["ig_b1.x_dummy"], "ig_adam_iter_b1", 5, 40)
    p, blocks, _ = common.resnet18_params(0)
    g = torch.Generator().manual_seed(1)
    # Batch norm in training mode, as the attacks run it (src/attacks/case.ts).
    ig_adam(lambda x: common.resnet18(p, blocks, x, True), list(p.values()), torch.randn(1, 3, 32, 32, generator=g),
            one_hot(torch.tensor([3])), torch.randn(1, 3, 32, 32, generator=g), "ig_adam_iter_resnet18_b1", 3, 20)


def defenses():
    # The authors' rule with torch.topk, per tensor: g += e; rank |g|; drop the top pTop, keep the next
    # pKeep; e = g - sent. "Encode": the kept positions (sorted) and values as little-endian bytes.
    torch.set_num_threads(1)
    p, _, _ = common.resnet18_params(0)
    g = torch.Generator().manual_seed(2)
    grads = [torch.randn(t.shape, generator=g) for t in p.values()]
    residual = [torch.zeros_like(t) for t in grads]

    def apply():
        out = []
        for i, gi in enumerate(grads):
            c = (gi + residual[i]).flatten()
            n = c.numel()
            drop = min(n - 1, max(1, round(0.05 * n))) if n > 1 else 0
            keep = min(n - drop, max(1, round(0.2 * n)))
            idx = torch.topk(c.abs(), drop + keep, sorted=True).indices[drop:]
            idx = idx.sort().values
            values = c[idx]
            c[idx] = 0
            residual[i] = c.view(gi.shape)
            out.append(idx.int().numpy().tobytes() + values.numpy().tobytes())
        return b"".join(out)
    apply()
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        apply()
        ts.append((time.perf_counter() - t0) * 1e3)
    report("dgp_ef_plus_encode", sorted(ts)[2], "(one thread, %d entries)" % sum(t.numel() for t in grads))
    torch.set_num_threads(args.threads)


for name, fn in [("core", core), ("attacks", attacks), ("defenses", defenses)]:
    if name in groups:
        fn()
res = {"engine": "pytorch-" + torch.__version__, "threads": args.threads, "tasks": tasks, "extra": extra}
if args.json:
    json.dump(res, open(args.json, "w"), indent=1)
