"""Spec rules of the branching blocks: residual and parallel (Inception-style)."""

from __future__ import annotations

import torch.nn as nn

from ...layers.blocks import Parallel, Residual
from .._catalogue import REQUIRED, LayerRule, format_shape, geometry_union, register_layer

__all__ = ["ParallelRule", "ResidualRule"]


def _totals(rows, depth):
    top = [row for row in rows if row.depth == depth]
    return sum(row.params for row in top), sum(row.flops for row in top)


class ContainerRule(LayerRule):
    """A rule whose layer holds other layers: it checks, infers, builds and reads back
    its own settings (lists of Nodes)."""

    def compact(self, node):
        return {key: value for key, value in node.args.items()
                if self.keys.get(key, REQUIRED) is REQUIRED or value != self.keys[key]}

    def describe(self, args):
        return self.name

    def is_sized(self, node):
        return False


@register_layer
class ResidualRule(ContainerRule):
    """``residual: {layers: [...], shortcut: [...]}``: ``layers(x) + shortcut(x)``;
    no shortcut is the identity."""

    name = "residual"
    example = {"layers": [{"conv": {"filters": 4, "kernel": 3, "padding": "same"}}]}
    keys = {"layers": REQUIRED, "shortcut": None}
    shorthand = "layers"
    modules = (Residual,)
    activation = True
    takes = "any"
    description = "residual block: layers(x) + shortcut(x) (ResNet)"

    def check(self, args, at):
        layers = at.layers(args, "layers")
        shortcut = args.get("shortcut")
        shortcut = at.layers(args, "shortcut") if shortcut not in (None, []) else None
        return {}, {"layers": layers, "shortcut": shortcut}

    def _walk(self, node, shape, geometry, at, path, depth, engine):
        base = f"{path}.{self.name}"
        out, geo, rows = engine.walk(node.args["layers"], shape, geometry, f"{base}.layers",
                                     depth + 1, at)
        if node.args["shortcut"] is None:
            skip, skip_geo, skip_rows, what = shape, geometry, [], "the identity shortcut"
        else:
            skip, skip_geo, skip_rows = engine.walk(node.args["shortcut"], shape, geometry,
                                                    f"{base}.shortcut", depth + 1, at)
            what = "shortcut"
        if tuple(out) != tuple(skip):
            fix = ("add a shortcut (e.g. a 1x1 conv with the body's filters and stride) that "
                   "matches it" if node.args["shortcut"] is None else "change the shortcut to match")
            raise at.error(
                f"residual branches disagree: layers give {format_shape(out)}, {what} gives "
                f"{format_shape(skip)} (input {format_shape(shape)} from {at.came_from}). Give "
                f"the layers padding: same and the input's channel count, or {fix}.")
        merged = geometry_union([geo, skip_geo])
        params, flops = _totals(rows + skip_rows, depth + 1)
        row = engine.row(node, path, depth, shape, out, merged, params, flops)
        return out, merged, [row, *rows, *skip_rows]

    def _build(self, node, shape, path, engine):
        base = f"{path}.{self.name}"
        body = engine.build_list(node.args["layers"], f"{base}.layers")
        shortcut = (None if node.args["shortcut"] is None else
                    engine.build_list(node.args["shortcut"], f"{base}.shortcut"))
        return Residual(body, shortcut)

    def _unbuild(self, module, engine):
        shortcut = (None if isinstance(module.shortcut, nn.Identity)
                    else engine.unbuild_sequence(module.shortcut))
        return {"layers": engine.unbuild_sequence(module.body), "shortcut": shortcut}


@register_layer
class ParallelRule(ContainerRule):
    """``parallel: {branches: [[...], [...]], merge: concat}``: branches on the same
    input, merged by concatenating channels (Inception) or by adding."""

    name = "parallel"
    example = {"branches": [[{"conv": {"filters": 2, "kernel": 1}}],
                            [{"maxpool": {"size": 3, "stride": 1, "padding": "same"}}]]}
    keys = {"branches": REQUIRED, "merge": "concat"}
    shorthand = "branches"
    modules = (Parallel,)
    activation = True
    takes = "any"
    description = "parallel branches, concatenated along channels or added (Inception)"

    def check(self, args, at):
        branches = args.get("branches")
        if not isinstance(branches, (list, tuple)) or not branches or not all(
                isinstance(branch, (list, tuple)) for branch in branches):
            raise at.error(
                f"branches must be a non-empty list of branches, each a list of layers "
                f"(branches: [[conv ...], [maxpool ..., conv ...]]). Received: "
                f"branches={branches!r}.", "branches")
        nodes = [at.engine.desugar_list(branch, f"{at.path}.branches[{index}]", allow_empty=True)
                 for index, branch in enumerate(branches)]
        merge = at.choice({"merge": args.get("merge", "concat")}, "merge", ("concat", "add"))
        return {}, {"branches": nodes, "merge": merge}

    def _walk(self, node, shape, geometry, at, path, depth, engine):
        base = f"{path}.{self.name}"
        outs, geos, rows = [], [], []
        for index, branch in enumerate(node.args["branches"]):
            out, geo, branch_rows = engine.walk(branch, shape, geometry,
                                                f"{base}.branches[{index}]", depth + 1, at)
            outs.append(tuple(out))
            geos.append(geo)
            rows.extend(branch_rows)
        listed = ", ".join(f"branches[{i}] gives {format_shape(o)}" for i, o in enumerate(outs))
        if node.args["merge"] == "add":
            if any(o != outs[0] for o in outs):
                raise at.error(
                    f"parallel branches to add disagree in shape: {listed}. Make every branch "
                    f"give the same channels and size (padding: same, equal strides), or use "
                    f"merge: concat.", "merge")
            out = outs[0]
        else:
            if any(len(o) != len(outs[0]) or o[1:] != outs[0][1:] for o in outs):
                raise at.error(
                    f"parallel branches to concatenate disagree in spatial size: {listed}. Use "
                    f"padding: same and the same stride in every branch.", "branches")
            out = (sum(o[0] for o in outs), *outs[0][1:])
        merged = geometry_union(geos)
        params, flops = _totals(rows, depth + 1)
        row = engine.row(node, path, depth, shape, out, merged, params, flops)
        return out, merged, [row, *rows]

    def _build(self, node, shape, path, engine):
        base = f"{path}.{self.name}"
        branches = [engine.build_list(branch, f"{base}.branches[{index}]")
                    for index, branch in enumerate(node.args["branches"])]
        return Parallel(branches, node.args["merge"])

    def _unbuild(self, module, engine):
        branches = [[] if isinstance(b, nn.Identity) else engine.unbuild_sequence(b)
                    for b in module.branches]
        return {"branches": branches, "merge": module.merge}

