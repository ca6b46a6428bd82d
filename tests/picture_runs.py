"""Small run folders of every task for the report, viewer and picture tests.

A run is written the way training writes one (spec.yaml, config.yaml with the data source,
its classes and the task record, a safetensors checkpoint, metrics.jsonl), after a few
hundred Adam steps of the task's own loss on a bundled set, so the tests need no trainer.
"""

from __future__ import annotations

import json

import torch

from cnnkit import build
from cnnkit.data import load_dataset
from cnnkit.runs.checkpoint import save_checkpoint
from cnnkit.runs.folder import RunFolder
from cnnkit.tasks import make_task

SPECS = {
    "segment": ("scenes_segment", {
        "name": "seg", "input": [1, 48, 48], "task": "segment", "layers": [
            {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"conv": {"filters": 11, "kernel": 1}}]}, {}),
    "detect": ("scenes_detect", {
        "name": "det", "input": [1, 48, 48], "task": "detect", "layers": [
            {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 4},
            {"conv": {"filters": 16, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            {"conv": {"filters": 20, "kernel": 1}}]}, {"loss": "yolo"}),
    "multilabel": ("scenes_multilabel", {
        "name": "ml", "input": [1, 48, 48], "task": "multilabel", "layers": [
            {"conv": {"filters": 8, "kernel": 3, "stride": 2, "activation": "relu"}},
            {"maxpool": 2}, "flatten", {"dense": 10}]}, {}),
    "regress": ("locate", {
        "name": "reg", "input": [1, 48, 48], "task": "regress", "layers": [
            {"conv": {"filters": 6, "kernel": 5, "stride": 2, "activation": "relu"}},
            {"maxpool": 2}, "flatten", {"dense": 4}]}, {}),
    "reconstruct": ("digits", {
        "name": "ae", "input": [1, 8, 8], "task": "reconstruct", "layers": [
            {"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
            {"conv": {"filters": 1, "kernel": 3, "padding": "same"}}]}, {}),
    "classify1d": ("mnist1d", {
        "name": "seq", "input": [1, 40], "layers": [
            {"conv": {"filters": 6, "kernel": 5, "activation": "relu"}}, "global_maxpool",
            {"dense": 10}]}, {}),
    "classify3d": ("clips_digit", {
        "name": "clip", "input": [1, 8, 32, 32], "layers": [
            {"conv": {"filters": 4, "kernel": 3, "stride": 2, "activation": "relu"}},
            "global_avgpool", {"dense": 10}]}, {}),
    "dense": ("digits", {
        "name": "mlp", "input": [1, 8, 8], "layers": [
            "flatten", {"dense": {"units": 16, "activation": "relu"}}, {"dense": 10}]}, {}),
}


def make_run(root, kind: str, *, steps: int = 60, seed: int = 0, record_task: bool = True):
    """A run folder of ``kind`` (a key of :data:`SPECS`) under ``root``; returns its path.

    The network is trained for ``steps`` Adam steps (batch 32) on the bundled set's first
    1000 samples; the report reads the test split from the data source as training would.
    """
    source, spec, settings = SPECS[kind]
    torch.manual_seed(seed)
    net = build(spec)
    data = load_dataset(source)
    task_name = spec.get("task", "classify")
    task = make_task(task_name, **settings)
    x, y = data.x[:1000], data.y[:1000]
    task.check(net.output_shape, x if task_name == "reconstruct" else y)
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.01)
    net.train()
    for _ in range(steps):
        index = torch.randint(0, len(x), (32,), generator=gen)
        inputs, targets = task.prepare(x[index], y[index], generator=gen)
        loss = task.loss(net(inputs), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    path = root / f"{kind}-run"
    run = RunFolder(path)
    path.mkdir(parents=True)
    run.write_yaml("spec.yaml", net.spec())
    config = {"train": {"seed": seed},
              "data": {"source": source, "classes": list(data.classes or [])}}
    if record_task:
        config["task"] = task.to_dict()
    run.write_yaml("config.yaml", config)
    (path / "metrics.jsonl").write_text(
        json.dumps({"split": "train", "step": steps, "epoch": 1, "loss": float(loss.detach())}) + "\n")
    save_checkpoint(run.checkpoints, "step-00000001",
                    {f"model.{k}": v for k, v in net.state_dict().items()},
                    {"epoch": 1, "step": steps})
    return path
