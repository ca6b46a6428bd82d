"""cnnkit's convolution layer against torch.nn.Conv2d: forward + backward, same shapes.

The fast path must be PyTorch's own kernel wherever the semantics allow, so the ratio
cnnkit / torch should be about 1.00 (target: at most 1.05).

Run: ``.venv/bin/python bench/conv_overhead.py``
"""

from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_medians  # noqa: E402

from cnnkit.layers import Conv2d  # noqa: E402

CASES = [
    # (batch, in, out, size, kernel, stride, padding) — padding as torch takes it
    (64, 1, 6, 28, 5, 1, 2),       # LeNet-5 first layer, 'same'
    (64, 6, 16, 14, 5, 1, 0),      # LeNet-5 second layer, 'valid'
    (32, 32, 64, 32, 3, 1, 1),     # a VGG-style block
    (32, 64, 64, 16, 3, 2, 1),     # strided
    (128, 16, 16, 8, 3, 1, 1),     # small maps, where per-call overhead shows most
]


def step(layer, x):
    def run():
        layer.zero_grad(set_to_none=True)
        layer(x).sum().backward()
    return run


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'shape (N,Cin->Cout,HxW,k,s,p)':36s} {'torch ms':>9s} {'cnnkit ms':>10s} {'ratio':>6s}")
    ratios = []
    # One discarded pass over every case first: the first timed case otherwise pays for
    # the allocator and thread pool warming up (seen as a spurious 1.4x on case one).
    for n, cin, cout, size, k, s, p in CASES:
        layer = Conv2d(cin, cout, k, stride=s, padding=p)
        interleaved_medians({"warm": step(layer, torch.randn(n, cin, size, size))}, rounds=3)
    for n, cin, cout, size, k, s, p in CASES:
        ours = Conv2d(cin, cout, k, stride=s, padding=p)
        theirs = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p)
        theirs.load_state_dict(ours.state_dict())
        x = torch.randn(n, cin, size, size)
        medians = interleaved_medians({"torch": step(theirs, x), "cnnkit": step(ours, x)})
        ratio = medians["cnnkit"] / medians["torch"]
        ratios.append(ratio)
        label = f"{n},{cin}->{cout},{size}x{size},k{k},s{s},p{p}"
        print(f"{label:36s} {medians['torch'] * 1e3:9.3f} {medians['cnnkit'] * 1e3:10.3f} {ratio:6.3f}")
    geo = 1.0
    for r in ratios:
        geo *= r
    geo **= 1 / len(ratios)
    print(f"geometric mean ratio cnnkit / torch.nn.Conv2d: {geo:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
