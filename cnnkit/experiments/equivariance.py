"""Convolution is equivariant to translation; pooling makes the output approximately
invariant to small shifts (Goodfellow et al. 2016, sections 9.2-9.3, fig. 9.8).

Part 1, equivariance: ``conv(shift(x)) == shift(conv(x))`` for a convolution layer of 16
5x5 kernels on real mnist5k digits (float64): exactly (to rounding) over the whole map with
circular padding and a circular shift; with zero padding exactly except on the columns
the shift brings in; after a 2x2 max pooling of stride 2, exactly for shifts that are
multiples of the stride and not otherwise.

Part 2, invariance: the same convolution + ReLU, then max pooling of width 1, 2 or 4 and
stride 1 (the book's fig. 9.8); the input is shifted right by 1 to 6 pixels and each pooled
unit is compared with itself (same position) before and after. The table gives the share
of active units (non-zero before or after) whose value did not change at all. Rows for
random zero-mean kernels and for the first layer of a network trained for one epoch.

Run: ``cnnkit experiment equivariance [--quick] [--seeds N]``
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import Experiment, Result, Stat, Table, figure, fit, load_split, seed_everything

__all__ = ["EXPERIMENT", "run"]

POOLS = (1, 2, 3, 4)
SHIFTS = (1, 2, 3, 4, 5, 6)


def _shift(x: torch.Tensor, dx: int, dy: int = 0, circular: bool = False) -> torch.Tensor:
    """Move the content right by ``dx`` and down by ``dy`` pixels (zeros come in)."""
    out = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if not circular:
        if dx:
            out[..., :, :dx] = 0
        if dy:
            out[..., :dy, :] = 0
    return out


def _kernels(kind: str, seed: int, data, quick: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """16 5x5 kernels and biases: random (zero mean, unit norm) or trained for one epoch."""
    from ..features import random_filters_
    from ..spec import build

    generator = seed_everything(seed)
    if kind == "random":
        weight = random_filters_(torch.empty(16, 1, 5, 5), generator=generator)
        return weight.double(), torch.zeros(16, dtype=torch.float64)
    net = build({"name": "probe", "input": [1, 28, 28], "layers": [
        {"conv": {"filters": 16, "kernel": 5, "padding": "same", "activation": "relu"}},
        {"maxpool": 2}, "flatten", {"dense": 10}]})
    fit(net, data, steps=20 if quick else 62, batch=64, lr=1e-3, seed=seed, eval_train=False)
    conv = net.layers[0]
    return conv.weight.detach().double(), conv.bias.detach().double()


def _relative(a: torch.Tensor, b: torch.Tensor, reference: torch.Tensor) -> float:
    return float((a - b).abs().max() / reference.abs().max())


def _equivariance_rows(x, weight, bias) -> list[dict]:
    """Relative max errors of shift-then-map against map-then-shift."""
    from ..functional import conv, max_pool

    rows = []
    for dx, dy in ((1, 0), (3, 2)):
        y = conv(x, weight, bias, padding="same", padding_mode="circular")
        shifted = conv(_shift(x, dx, dy, True), weight, bias, padding="same", padding_mode="circular")
        error = _relative(shifted, _shift(y, dx, dy, True), y)
        rows.append({"map": "conv, circular padding", "shift": f"({dy}, {dx})",
                     "whole": error, "interior": error})
    for dx, dy in ((1, 0), (3, 2)):
        y = conv(x, weight, bias, padding="same")
        shifted = conv(_shift(x, dx, dy), weight, bias, padding="same")
        expected = _shift(y, dx, dy)
        # Interior: away from the rows / columns the shift brings in and from those whose
        # window reached the content the shift pushed out (kernel radius 2).
        m = max(dx, dy) + 2
        inside = (slice(None), slice(None), slice(m, -m), slice(m, -m))
        rows.append({"map": "conv, zero padding", "shift": f"({dy}, {dx})",
                     "whole": _relative(shifted, expected, y),
                     "interior": _relative(shifted[inside], expected[inside], y)})
    for dx in (1, 2, 4):
        y = max_pool(conv(x, weight, bias, padding="same").relu(), 2)
        shifted = max_pool(conv(_shift(x, dx), weight, bias, padding="same").relu(), 2)
        m = (dx + 3) // 2 + 1  # the same margin on the pooled grid
        inside = (slice(None), slice(None), slice(m, -m), slice(m, -m))
        # An odd shift has no counterpart on the stride-2 grid: the best of the two nearest.
        candidates = [_shift(y, d) for d in {dx // 2, (dx + 1) // 2}]
        rows.append({"map": "conv + ReLU + maxpool 2 (stride 2)", "shift": f"(0, {dx})",
                     "whole": min(_relative(shifted, e, y) for e in candidates),
                     "interior": min(_relative(shifted[inside], e[inside], y)
                                     for e in candidates)})
    return rows


def _unchanged(x, weight, bias, shifts) -> dict[tuple[int, int], float]:
    """(pool, shift) -> share of active pooled units (stride 1) unchanged by the shift."""
    from ..functional import conv, max_pool

    def detect(inp):
        return conv(inp, weight, bias, padding="same").relu()

    def touches(inp, pool):  # units whose window (kernel, then pool) sees a digit pixel
        seen = max_pool((inp != 0).double(), 5, stride=1, padding=2)
        return max_pool(seen, pool, stride=1) > 0

    shares = {}
    original = detect(x)
    for shift in shifts:
        moved = _shift(x, shift)
        detected = detect(moved)
        for pool in POOLS:
            before = max_pool(original, pool, stride=1)
            after = max_pool(detected, pool, stride=1)
            # Count the units whose window touches the digit (in either image) and that
            # respond (non-zero after the ReLU) in either image; units seeing only
            # background, or silenced by the ReLU in both, say nothing about pooling.
            active = (touches(x, pool) | touches(moved, pool)) & ((before > 0) | (after > 0))
            same = (before - after).abs() <= 1e-9 * before.abs().max()
            shares[(pool, shift)] = float((same & active).sum() / active.sum())
    return shares


def run(quick: bool = False, seeds: int = 3) -> Result:
    """Measure equivariance errors and the share of pooled units unchanged by shifts."""
    data = load_split("mnist5k")
    count = 32 if quick else 128
    kinds = ("random", "trained")
    shifts = SHIFTS[:3] if quick else SHIFTS
    shares = {(k, p, s): [] for k in kinds for p in POOLS for s in shifts}
    errors: dict[tuple, list] = {}
    for seed in range(seeds):
        generator = torch.Generator().manual_seed(seed)
        x = data.x_test[torch.randperm(len(data.y_test), generator=generator)[:count]].double()
        for kind in kinds:
            weight, bias = _kernels(kind, seed, data, quick)
            for row in _equivariance_rows(x, weight, bias):
                for key in ("whole", "interior"):
                    errors.setdefault((kind, row["map"], row["shift"], key), []).append(row[key])
            for (pool, shift), share in _unchanged(x, weight, bias, shifts).items():
                shares[(kind, pool, shift)].append(share)

    def error_cell(values):
        worst = max(values)
        return "0 (exact)" if worst == 0 else f"{worst:.1e}"

    table_one = [{"kernels": kind, "map": m, "shift": shift,
                  "whole": error_cell(errors[(kind, m, shift, "whole")]),
                  "interior": error_cell(errors[(kind, m, shift, "interior")])}
                 for kind, m, shift, key in errors if key == "whole"]
    table_two = [{"kernels": kind, "pool": f"maxpool {pool}, stride 1",
                  **{f"s{s}": Stat(shares[(kind, pool, s)], scale=100, digits=0) for s in shifts}}
                 for kind in kinds for pool in POOLS]
    tables = [Table([("kernels", "kernels"), ("map", "map"), ("shift", "shift (dy, dx)"),
                     ("whole", "max rel. error, whole map"),
                     ("interior", "max rel. error, interior")], table_one,
                    "Equivariance: map(shift(x)) against shift(map(x))"),
              Table([("kernels", "kernels"), ("pool", "after conv + ReLU")]
                    + [(f"s{s}", f"shift {s}") for s in shifts], table_two,
                    "Invariance: % of active pooled units unchanged by a shift to the right")]

    fig = figure(8, 3)
    ax = fig.add_subplot(1, 2, 1)
    short = {"conv, circular padding": "conv, circular", "conv, zero padding": "conv, zeros",
             "conv + ReLU + maxpool 2 (stride 2)": "+ maxpool 2/2"}
    shown = [r for r in table_one if r["kernels"] == "random"]
    worst = [max(max(errors[(k, r["map"], r["shift"], "interior")]) for k in kinds) for r in shown]
    ax.barh(range(len(worst)), [max(w, 1e-17) for w in worst], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlim(1e-18, 10)
    ax.set_yticks(range(len(worst)), [f"{short[r['map']]} {r['shift']}" for r in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set(title="equivariance error, interior (0 drawn at 1e-17)", xlabel="max relative error")
    ax = fig.add_subplot(1, 2, 2)
    for kind, style in zip(kinds, ("-", "--")):
        for pool, color in zip(POOLS, ("tab:gray", "tab:orange", "tab:red", "tab:green")):
            ax.plot(shifts, [100 * Stat(shares[(kind, pool, s)]).mean for s in shifts],
                    style, color=color, marker="o", markersize=3, label=f"pool {pool}, {kind}")
    ax.set(title="pooled units unchanged by a shift", xlabel="shift (pixels)",
           ylabel="% of active units unchanged")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)

    circular = [max(v) for (k, m, s, key), v in errors.items() if m.startswith("conv, circ")]
    interior = [max(v) for (k, m, s, key), v in errors.items()
                if m.startswith("conv, zero") and key == "interior"]
    odd = [max(v) for (k, m, s, key), v in errors.items()
           if m.startswith("conv + ReLU") and s == "(0, 1)" and key == "interior"]
    share = {p: Stat(shares[("random", p, 1)]).mean for p in POOLS}
    checks = [("convolution commutes with a shift to rounding (relative error < 1e-12) with "
               "circular padding, and inside the map with zero padding",
               max(circular + interior) < 1e-12),
              ("after a stride-2 pooling a 1-pixel shift is not matched by any shift of the "
               "output (error > 1e-3)", min(odd) > 1e-3),
              ("a wider pool leaves more units unchanged by a 1-pixel shift (1 < 2 < 3 < 4)",
               share[1] < share[2] < share[3] < share[4])]
    notes = [f"{count} test digits per seed, float64; 16 kernels 5x5 with 'same' padding; "
             "trained kernels: the first layer of conv-ReLU-maxpool-dense after one epoch "
             "of Adam on mnist5k."]
    return Result(tables, fig, checks, notes, seeds)


EXPERIMENT = Experiment(
    name="equivariance",
    claim="Convolution is equivariant to translation; max pooling makes the output "
          "approximately invariant to small shifts.",
    sources=("Goodfellow, Bengio and Courville 2016, Deep Learning, sections 9.2 "
             "(equivariant representations) and 9.3, fig. 9.8",),
    published="fig. 9.8: after a one-pixel shift every detector unit changes but only half "
              "of the units of a max pooling of width 3 (stride 1) do; the text states "
              "equivariance exactly for convolution (up to the borders).",
    run=run)
