"""Per-step time of every zoo model built by cnnkit against the same network in plain PyTorch.

The plain network is written with torch.nn modules only (nn.Conv2d, nn.MaxPool2d, nn.Linear,
...), converted layer by layer from the cnnkit model and given the same weights; the bench
checks that both give the same output before timing. A training step is forward, loss,
backward and an SGD update, interleaved round by round in one process (bench/_timing.py).

Target: ratio torch time / cnnkit time of at least 0.98 for every model.

Run: ``.venv/bin/python bench/model_overhead.py [--models lenet5,resnet18] [--batch 16]``
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_medians  # noqa: E402

import cnnkit  # noqa: E402
from cnnkit import layers as L  # noqa: E402

SMALL_INPUT = (3, 32, 32)


class _Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class _Concat(nn.Module):
    def __init__(self, branches, add):
        super().__init__()
        self.branches, self.add = nn.ModuleList(branches), add

    def forward(self, x):
        outs = [branch(x) for branch in self.branches]
        return torch.stack(outs).sum(0) if self.add else torch.cat(outs, 1)


def _padding(layer):
    """torch.nn's padding for a 2-D cnnkit window: ints when symmetric, else a ZeroPad2d."""
    pairs = layer.padding if not isinstance(layer.padding, str) else None
    if layer.padding == "same" and all(s == 1 for s in layer.stride):
        return "same", None
    if pairs is None:
        raise NotImplementedError("'same' padding with a stride: resolved per input size")
    if all(lo == hi for lo, hi in pairs):
        return tuple(lo for lo, _ in pairs), None
    (top, bottom), (left, right) = pairs
    return 0, nn.ZeroPad2d((left, right, top, bottom))


def to_torch(module: nn.Module) -> nn.Module:
    """The plain torch.nn network of a 2-D cnnkit model, sharing nothing (weights copied)."""
    if isinstance(module, (nn.Sequential, L.Sequential)):
        return nn.Sequential(*[to_torch(child) for child in module])
    if isinstance(module, cnnkit.spec.Network):
        return to_torch(module.layers)
    if isinstance(module, L.Residual):
        shortcut = (nn.Identity() if isinstance(module.shortcut, nn.Identity)
                    else to_torch(module.shortcut))
        return _Residual(to_torch(module.body), shortcut)
    if isinstance(module, L.Parallel):
        return _Concat([nn.Identity() if isinstance(b, nn.Identity) else to_torch(b)
                        for b in module.branches], module.merge == "add")
    if type(module) in (L.Conv, L.Conv2d):
        padding, pre = _padding(module)
        conv = nn.Conv2d(module.in_channels, module.out_channels, module.kernel, module.stride,
                         padding, module.dilation, module.groups,
                         bias=module.bias is not None)
        conv.load_state_dict(module.state_dict())
        return conv if pre is None else nn.Sequential(pre, conv)
    if type(module) in (L.MaxPool, L.AvgPool):
        padding, pre = _padding(module)
        if type(module) is L.MaxPool:
            pool = nn.MaxPool2d(module.kernel, module.stride, padding, module.dilation,
                                ceil_mode=module.ceil_mode)
        else:
            pool = nn.AvgPool2d(module.kernel, module.stride, padding, module.ceil_mode,
                                module.count_include_pad)
        return pool if pre is None else nn.Sequential(pre, pool)
    if isinstance(module, L.GlobalAvgPool):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if isinstance(module, L.GlobalMaxPool):
        return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
    if isinstance(module, L.AdaptiveAvgPool):
        return nn.AdaptiveAvgPool2d(module.output_size)
    if isinstance(module, L.Dense):
        linear = nn.Linear(module.in_features, module.units, bias=module.bias is not None)
        linear.load_state_dict(module.state_dict())
        return linear
    if isinstance(module, L.BatchNorm):
        norm = nn.BatchNorm2d(module.num_features, module.eps, module.momentum, module.affine)
        norm.load_state_dict(module.state_dict())
        return norm
    if isinstance(module, L.LocalResponseNorm):
        # torch.nn divides alpha by size; the AlexNet paper (and cnnkit) multiplies the sum.
        return nn.LocalResponseNorm(module.size, module.alpha * module.size, module.beta,
                                    module.k)
    plain = {L.ReLU: nn.ReLU, L.Tanh: nn.Tanh, L.Sigmoid: nn.Sigmoid, L.Flatten: nn.Flatten}
    if type(module) in plain:
        return plain[type(module)]()
    if isinstance(module, L.Dropout):
        return nn.Dropout(module.rate)
    raise NotImplementedError(f"no torch.nn equivalent written for {type(module).__name__}")


def _model(name: str):
    """The zoo model ``name`` at a small input: 32x32 for 3-channel image models, else the
    factory's own default shape."""
    factory = cnnkit.models.model_entrypoint(name)
    params = inspect.signature(factory).parameters
    kwargs = {}
    if "input_shape" in params:
        default = params["input_shape"].default
        if isinstance(default, tuple) and len(default) == 3 and default[0] == 3:
            kwargs["input_shape"] = SMALL_INPUT
    if "num_classes" in params:
        kwargs["num_classes"] = 10
    return cnnkit.create_model(name, **kwargs)


def _why_skipped(name: str, model=None) -> str | None:
    """Why ``name`` is left out of a 2-D bench (None: it is timed)."""
    dims = cnnkit.models.model_dims(name)
    if model is None and dims != 2:
        return f"{dims}-D inputs (this bench writes torch.nn equivalents of 2-D networks only)"
    if model is not None and not isinstance(model, cnnkit.spec.Network):
        return (f"a plain nn.Module ({type(model).__name__}) without a spec: it is PyTorch "
                f"already, there is no cnnkit layer to compare")
    return None


def step(model, optimiser, x, y):
    def run():
        optimiser.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated zoo names (default all)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    names = [n for n in args.models.split(",") if n] or cnnkit.list_models()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print(f"{'model':14s} {'input':>10s} {'torch ms':>9s} {'cnnkit ms':>10s} {'ratio':>6s}")
    worst = None
    for name in names:
        reason = _why_skipped(name)
        ours = None
        if reason is None:
            try:
                ours = _model(name)
            except (cnnkit.CnnkitError, NotImplementedError) as error:
                reason = str(error)
            else:
                reason = _why_skipped(name, ours)
        if reason is not None:
            print(f"{name:14s} skipped: {reason}")
            continue
        try:
            theirs = to_torch(ours)
        except NotImplementedError as error:
            print(f"{name:14s} skipped: {error}")
            continue
        shape = tuple(ours.input_shape)
        x = torch.randn(args.batch, *shape)
        ours.eval(), theirs.eval()
        with torch.no_grad():
            diff = float((ours(x) - theirs(x)).abs().max())
        if diff > 1e-4:
            raise SystemExit(f"{name}: the plain network differs from cnnkit's by {diff:g}")
        ours.train(), theirs.train()
        y = torch.randint(0, int(ours.output_shape[0]), (args.batch,))
        runs = {"torch": step(theirs, torch.optim.SGD(theirs.parameters(), 0.01), x, y),
                "cnnkit": step(ours, torch.optim.SGD(ours.parameters(), 0.01), x, y)}
        interleaved_medians(runs, rounds=2)  # warm-up
        medians = interleaved_medians(runs, rounds=args.rounds)
        ratio = medians["torch"] / medians["cnnkit"]
        worst = ratio if worst is None else min(worst, ratio)
        print(f"{name:14s} {'x'.join(map(str, shape)):>10s} {medians['torch'] * 1e3:9.2f} "
              f"{medians['cnnkit'] * 1e3:10.2f} {ratio:6.3f}")
    if worst is not None:
        print(f"lowest ratio torch / cnnkit: {worst:.3f} (target >= 0.98)")


if __name__ == "__main__":
    main()
