"""The layers of the package: every import of every module (inside functions too) points
down the layering of docs/design.md, and no two top-level packages import each other.

    functional <- layers, metrics <- spec <- models, tasks <- data, runs <- train, inspect,
    features, export, experiments <- serve, workflow <- cli

``reference`` (the test oracles) imports nothing above functional and layers, and nothing
in cnnkit imports it. The private modules (``_validation``, ``_files``, ``_memory``,
``_version``) are below everything; the package's ``__init__`` (the public surface) and
``__main__`` are above everything, and no module inside cnnkit imports them.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "cnnkit"

LEVELS = {
    "functional": 1,
    "layers": 2, "metrics": 2,
    "spec": 3,
    "models": 4, "tasks": 4,
    "data": 5, "runs": 5,
    "train": 6, "inspect": 6, "features": 6, "export": 6, "experiments": 6, "rl": 6,
    "serve": 7, "workflow": 7,
    "cli": 8,
}
BOTTOM = 0  # _validation, _files, _memory, _version
TOP = 9     # __init__ (the package itself), __main__


def level_of(part: str) -> int:
    if part.startswith("_") and part not in ("__init__", "__main__"):
        return BOTTOM
    if part in ("<package>", "__init__", "__main__"):
        return TOP
    return LEVELS[part]


def module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports_of(path: Path):
    """(line, imported module as a list of names) for every import in ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[0] != "cnnkit":
                continue
            if len(target) == 1:  # from cnnkit import x / from .. import x: x may be a package
                for alias in node.names:
                    sub = ROOT / alias.name
                    if sub.is_dir() or sub.with_suffix(".py").is_file():
                        yield node.lineno, ["cnnkit", alias.name]
                    else:
                        yield node.lineno, ["cnnkit"]
            else:
                yield node.lineno, target


def top_level(parts: list[str]) -> str:
    return parts[1] if len(parts) > 1 else "<package>"


def all_edges():
    """(importer's top-level part, imported top-level part, where) for every import."""
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        source = module_name(path)
        for line, target in imports_of(path):
            if target[0] != "cnnkit":
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line} imports {'.'.join(target)}"
            edges.append((top_level(source) if len(source) > 1 else "<package>",
                          top_level(target), where))
    return edges


EDGES = all_edges()


def test_every_top_level_part_has_a_level():
    parts = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    unknown = sorted(p for p in parts if p not in LEVELS and not p.startswith("_")
                     and p != "reference")
    assert not unknown, f"give these a level in LEVELS (and docs/design.md): {unknown}"


def test_no_import_points_up():
    upward = []
    for source, target, where in EDGES:
        if source == target or source == "<package>" or source == "__main__":
            continue
        if source == "reference" or target == "reference":
            continue  # checked below
        if level_of(target) > level_of(source):
            upward.append(where)
    assert not upward, "imports that point up the layering:\n" + "\n".join(upward)


def test_no_two_packages_import_each_other():
    graph = defaultdict(set)
    where = {}
    for source, target, text in EDGES:
        if source != target and source not in ("<package>", "__main__"):
            graph[source].add(target)
            where.setdefault((source, target), text)
    # Any cycle, of any length, between top-level parts (depth-first search).
    cycles = []
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                cycles.append(" -> ".join(cycle) + "  (" + "; ".join(
                    where[(a, b)] for a, b in zip(cycle, cycle[1:])) + ")")
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles between packages:\n" + "\n".join(cycles)


def test_reference_stands_apart():
    wrong = [w for s, t, w in EDGES if s == "reference" and t not in ("reference", "functional",
                                                                       "layers")
             and level_of(t) != BOTTOM]
    wrong += [w for s, t, w in EDGES if t == "reference" and s != "reference"]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    # The rule must be able to fail: a function-level upward import is found.
    sample = ROOT / "runs" / "model.py"
    found = [t for _, t in imports_of(sample)]
    assert ["cnnkit", "spec"] in found  # `from ..spec import load` inside load_run_model
    assert level_of("train") > level_of("runs") > level_of("spec")


@pytest.mark.parametrize("source, target", [("train", "inspect"), ("inspect", "train"),
                                            ("runs", "train"), ("data", "runs")])
def test_layers_named_in_the_design_do_not_meet(source, target):
    found = [w for s, t, w in EDGES if s == source and t == target]
    assert not found, "\n".join(found)
