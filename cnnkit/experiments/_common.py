"""What every experiment shares: the registry entry, the result (table, figure, markdown),
mean ± std over seeds, the training loop and interleaved timing.

The training loop keeps the whole data set on the device as one tensor and draws batches
by indexing with a seeded permutation per epoch (no DataLoader, no per-sample Python), so
that a few thousand steps of a small network take seconds on a CPU.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Experiment", "Result", "Stat", "Table", "Data", "accuracy", "figure", "fit", "load_split",
           "seed_everything", "standardise", "time_interleaved"]


# --------------------------------------------------------------------------------------
# Registry entry and result
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Experiment:
    """One claim of the source material as something that runs.

    Attributes:
        name: the command-line name (``cnnkit experiment NAME``).
        claim: the claim in one line.
        sources: the published sources the claim comes from.
        published: what the sources report, in one or two sentences (set beside ours).
        run: ``run(quick: bool, seeds: int) -> Result``.
        seeds: default number of seeds of a full run (0: no training, no seeds).
    """

    name: str
    claim: str
    sources: tuple[str, ...]
    published: str
    run: Callable[..., "Result"]
    seeds: int = 3


class Stat:
    """Values over seeds, shown as ``mean ± std`` (sample std; just the mean for one seed).

    Example:
        >>> str(Stat([0.9, 0.95, 1.0], scale=100, digits=1))
        '95.0 ± 5.0'
        >>> str(Stat([2.0], digits=0))
        '2'
    """

    def __init__(self, values: Sequence[float], *, scale: float = 1.0, digits: int = 1):
        self.values = [float(v) for v in values]
        self.scale, self.digits = scale, digits

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def __str__(self) -> str:
        mean = f"{self.mean * self.scale:.{self.digits}f}"
        if len(self.values) == 1:
            return mean
        return f"{mean} ± {self.std * self.scale:.{self.digits}f}"

    def to_json(self) -> dict:
        return {"mean": self.mean, "std": self.std, "values": self.values}


@dataclasses.dataclass
class Table:
    """One table of a result.

    Attributes:
        columns: ``(key, header)`` pairs in table order.
        rows: one dict per row; values are str, int, float or :class:`Stat`.
        title: a caption, or empty.
    """

    columns: list[tuple[str, str]]
    rows: list[dict]
    title: str = ""

    def cells(self) -> list[list[str]]:
        """The table's cells as text, one list per row."""
        def text(value):
            return f"{value:.4g}" if isinstance(value, float) else str(value)
        return [[text(row.get(key, "")) for key, _ in self.columns] for row in self.rows]

    def text(self) -> str:
        """The table as aligned plain text."""
        headers = [header for _, header in self.columns]
        cells = self.cells()
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The table as a markdown pipe table (with its title in bold above)."""
        lines = [f"**{self.title}**", ""] if self.title else []
        lines += ["| " + " | ".join(h for _, h in self.columns) + " |",
                  "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in self.cells()]
        return "\n".join(lines)

    def to_json(self) -> dict:
        def plain(value):
            return value.to_json() if isinstance(value, Stat) else value
        return {"title": self.title, "columns": [list(c) for c in self.columns],
                "rows": [{k: plain(v) for k, v in row.items()} for row in self.rows]}


@dataclasses.dataclass
class Result:
    """What an experiment produced: tables, a figure and the verdicts on its claim.

    Attributes:
        tables: one or more :class:`Table`.
        figure: a matplotlib Figure (Agg canvas), or None.
        checks: ``(statement, holds)`` pairs: the claim's direction as measured here.
        notes: extra lines printed under the tables (settings, protocol).
        seeds: how many seeds the numbers are over (0 where no training is involved).
    """

    tables: list[Table]
    figure: Any = None
    checks: list[tuple[str, bool]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    seeds: int = 0

    def text(self) -> str:
        """Every table as aligned plain text, separated by blank lines."""
        return "\n\n".join(table.text() for table in self.tables)

    def to_json(self) -> dict:
        return {"tables": [t.to_json() for t in self.tables],
                "checks": [[s, bool(h)] for s, h in self.checks], "notes": self.notes,
                "seeds": self.seeds}


def verdict(holds: bool) -> str:
    return "holds" if holds else "does NOT hold"


def markdown_section(experiment: Experiment, result: Result, *, command: str, seconds: float,
                     figure_name: str | None, cpu_seconds: float | None = None) -> str:
    """A markdown section: claim, sources, command, table, figure, published, verdicts."""
    lines = [f"## {experiment.name}", "", f"**Claim.** {experiment.claim}", "",
             "**Sources.** " + "; ".join(experiment.sources), "",
             f"**Published.** {experiment.published}", "",
             f"Command: `{command}` ({seconds:.0f} s wall"
             + (f", {cpu_seconds:.0f} s CPU" if cpu_seconds is not None else "")
             + f", {torch.get_num_threads()} PyTorch thread"
             + ("s" if torch.get_num_threads() != 1 else "")
             + (f", {result.seeds} seeds, mean ± std)." if result.seeds > 1 else ")."), "",
             "\n\n".join(t.markdown() for t in result.tables), ""]
    lines += [f"- {note}" for note in result.notes]
    lines += [f"- Measured here: {statement}: **{verdict(holds)}**."
              for statement, holds in result.checks]
    if figure_name:
        lines += ["", f"![{experiment.name}]({figure_name})"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------

def figure(width: float = 8.0, height: float = 3.0):
    """A matplotlib Figure on the Agg canvas (no pyplot state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=72)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: Path) -> int:
    """Write ``fig`` as a small palette PNG (tens of KB); returns the byte count."""
    from PIL import Image

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={"Software": None})
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return len(out.getvalue())


def write_outputs(experiment: Experiment, result: Result, out: Path, *, command: str,
                  seconds: float, cpu_seconds: float | None = None) -> list[Path]:
    """Write ``NAME.md``, ``NAME.json`` and ``NAME.png`` (when there is a figure) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    png = None
    if result.figure is not None:
        png = out / f"{experiment.name}.png"
        save_png(result.figure, png)
        written.append(png)
    md = out / f"{experiment.name}.md"
    md.write_text(markdown_section(experiment, result, command=command, seconds=seconds,
                                   figure_name=png.name if png else None,
                                   cpu_seconds=cpu_seconds), encoding="utf-8")
    data = out / f"{experiment.name}.json"
    data.write_text(json.dumps({"name": experiment.name, "command": command,
                                "seconds": round(seconds, 1),
                                "cpu_seconds": None if cpu_seconds is None else round(cpu_seconds, 1),
                                "threads": torch.get_num_threads(), **result.to_json()}, indent=1),
                    encoding="utf-8")
    return [md, data] + written


# --------------------------------------------------------------------------------------
# Data and training
# --------------------------------------------------------------------------------------

@dataclasses.dataclass
class Data:
    """Training and test tensors of one data set, on one device."""

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def subset(self, n: int, seed: int = 0, test: int | None = None) -> "Data":
        """The first ``n`` training samples of a seeded permutation, balanced by class when
        ``n`` is a multiple of the class count; the test set is kept whole, or cut to its
        first ``test`` samples (quick runs, where evaluating would cost more than training).
        """
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(self.y), generator=generator)
        classes = int(self.y.max()) + 1
        if n % classes == 0:
            per = n // classes
            order = torch.cat([order[self.y[order] == c][:per] for c in range(classes)])
            order = order[torch.randperm(len(order), generator=generator)]
        else:
            order = order[:n]
        end = len(self.y_test) if test is None else test
        return Data(self.x[order], self.y[order], self.x_test[:end], self.y_test[:end])


def load_split(name: str, *, standardise_inputs: bool = False) -> Data:
    """A bundled data set's train and test splits (:func:`cnnkit.data.load_dataset`)."""
    from ..data import load_dataset

    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    data = Data(train.x, train.y, test.x, test.y)
    if standardise_inputs:
        data.x, data.x_test = standardise(data.x, data.x_test)
    return data


def standardise(x: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Subtract the mean and divide by the std of ``x`` (one scalar each, from ``x`` only:
    the training split), and apply the same map to ``others``."""
    mean, std = x.mean(), x.std().clamp_min(1e-12)
    return tuple((t - mean) / std for t in (x, *others))


def seed_everything(seed: int) -> torch.Generator:
    """Seed the global RNG (weight initialisation, dropout) and return a generator for data
    order and augmentation."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Share of ``x`` classified as ``y``, in evaluation mode (the mode is restored)."""
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                  for i in range(0, len(x), batch))
    model.train(was_training)
    return correct / len(x)


def fit(model: nn.Module, data: Data, *, steps: int, batch: int = 64, lr: float = 1e-3,
        optimizer: str = "adam", momentum: float = 0.9, weight_decay: float = 0.0,
        seed: int = 0, transform: Callable | None = None, after_step: Callable | None = None,
        eval_every: int = 0, eval_train: bool | int = True, x_val=None, y_val=None,
        until: Callable[[dict], bool] | None = None) -> list[dict]:
    """Train ``model`` on ``data`` with softmax cross-entropy; returns the evaluation log.

    Batches are drawn by indexing the device-resident tensors with a permutation per epoch
    from a generator seeded by ``seed``; the last incomplete batch of an epoch is dropped.

    Args:
        steps: optimiser steps.
        batch: batch size (at most the training-set size).
        lr, optimizer, momentum, weight_decay: Adam (``"adam"``) or SGD with momentum
            (``"sgd"``); ``weight_decay`` is the L2 coefficient of either.
        seed: seeds the data order and ``transform``'s randomness.
        transform: ``transform(xb, generator) -> xb``, applied to every training batch.
        after_step: called with the model after every step (max-norm projection, ...).
        eval_every: log every this many steps (0: only at the end).
        eval_train: log the training-set error too (one pass over it, or over ``eval_train``
            samples when it is an int).
        x_val, y_val: a validation set to log as well.
        until: stop after the first evaluation for which ``until(entry)`` is true.

    Returns:
        One dict per evaluation: ``step``, ``loss`` (mean training loss since the previous
        entry), ``train_error`` (with ``eval_train``), ``test_accuracy``, ``val_accuracy``
        and ``val_loss`` (with a validation set).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(data.y)
    batch = min(batch, n)
    order, position = None, n
    log, losses = [], []
    model.train()
    for step in range(1, steps + 1):
        if position + batch > n:
            order, position = torch.randperm(n, generator=generator), 0
        index = order[position:position + batch]
        position += batch
        xb, yb = data.x[index], data.y[index]
        if transform is not None:
            xb = transform(xb, generator)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if after_step is not None:
            after_step(model)
        losses.append(loss.detach())
        if (eval_every and step % eval_every == 0) or step == steps:
            entry = {"step": step, "loss": float(torch.stack(losses).mean())}
            losses = []
            if not math.isfinite(entry["loss"]):
                raise FloatingPointError(f"the training loss is {entry['loss']} at step {step}")
            if eval_train:
                count = len(data.y) if eval_train is True else int(eval_train)
                entry["train_error"] = 1.0 - accuracy(model, data.x[:count], data.y[:count])
            entry["test_accuracy"] = accuracy(model, data.x_test, data.y_test)
            if x_val is not None:
                entry["val_accuracy"] = accuracy(model, x_val, y_val)
                with torch.no_grad():
                    model.eval()
                    entry["val_loss"] = float(F.cross_entropy(model(x_val), y_val))
                    model.train()
            log.append(entry)
            if until is not None and until(entry):
                break
    return log


def time_interleaved(functions: dict[str, Callable[[], Any]], rounds: int = 7,
                     min_seconds: float = 0.005, clock: Callable[[], float] = time.process_time
                     ) -> dict[str, float]:
    """Median seconds per call of each function, timed in interleaved rounds.

    Every function runs once as a warm-up; then each round times every function in turn
    (repeating a call until ``min_seconds`` have passed, so that short calls are not lost
    in the clock's resolution), so a slow-down of the machine during the measurement hits
    all of them alike. Returns the median over rounds.

    The default clock is the CPU time of this process (all its threads): on a machine
    shared with other processes, time spent waiting for a core is not charged to the
    function. With one thread on an idle machine it equals the wall time; pass
    ``clock=time.perf_counter`` for wall time.
    """
    repeats = {}
    for name, fn in functions.items():
        start = clock()
        fn()
        once = max(clock() - start, 1e-7)
        repeats[name] = max(1, min(1000, int(min_seconds / once)))
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = clock()
            for _ in range(repeats[name]):
                fn()
            samples[name].append((clock() - start) / repeats[name])
    return {name: statistics.median(values) for name, values in samples.items()}
