"""Every system of the zoo trains by name on its own bundled data, the way `cnnkit train NAME
--data X` does it: the model sized for the data (``cnnkit.cli._model_choice.zoo_network``),
then ``cnnkit.train``. The data here is a few samples of the bundled set, repeated, so that
a few optimiser steps must lower the logged training loss. The Modules that no sequence of
layers describes train through the Python path (cnnkit.tasks) here, and by name from the
command line in tests/test_zoo_modules.py. And the errors of bad input."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

import cnnkit
from cnnkit import models
from cnnkit import tasks as T
from cnnkit.cli._model_choice import CLI_TASKS, zoo_network
from cnnkit.cli.main import main
from cnnkit.data import load_dataset
from cnnkit.train.api import train

SEED = int(os.environ.get("CNNKIT_TEST_SEED", "0"))


def sample(name: str, distinct: int):
    """``distinct`` training samples of the bundled set ``name`` (spread over it) and 4 test
    samples."""
    data, test = load_dataset(name, "train"), load_dataset(name, "test")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(SEED))[:distinct]
    return data[pick], test[:4]


def train_by_name(tmp_path, name, data_name, *, distinct=16, steps=12, lr=1e-3, settings=(),
                  resize=None):
    """The logged training losses of ``steps`` Adam steps, each on the same ``distinct``
    samples (one batch an epoch; one checkpoint, at the end)."""
    torch.manual_seed(SEED)
    spec, data = zoo_network(name, sample(data_name, distinct), settings=list(settings),
                             resize=resize, seed=SEED)
    config = {"epochs": steps, "batch_size": distinct, "optimizer": "adam", "lr": lr,
              "log_every": 1, "val_fraction": 0.0, "progress": False, "report": False,
              "checkpoint_every": 10 ** 6, "seed": SEED}
    result = train(spec, data, config, runs_root=tmp_path)
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["loss"] for line in lines if json.loads(line)["split"] == "train"]


def falls(losses, factor):
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    return math.isfinite(last) and last < factor * first


# name, data, settings, steps, lr, factor (loss after / before), resize. The big ImageNet
# families learn 8 samples without dropout; the rest 16.
SYSTEMS = [
    ("lenet5_1998", "mnist5k", [], 8, 1e-3, 0.9, None),
    ("neocognitron", "mnist5k", ["planes=[8, 16]"], 8, 1e-2, 0.9, None),
    ("tdnn", "mnist1d", [], 10, 5e-2, 0.9, None),
    ("tdnn", "japanese_vowels", [], 10, 5e-2, 0.9, None),
    ("allconv", "mnist5k", ["widths=[16, 32]", "dropout=false"], 12, 5e-3, 0.985, None),
    ("alexnet", "digits", ["dropout=0"], 5, 3e-4, 0.97, (16, 16)),
    ("vgg11", "digits", ["dropout=0"], 4, 5e-4, 0.97, (32, 32)),  # step 5 overshoots
    ("googlenet", "digits", [], 5, 1e-3, 0.9, None),
    ("resnet18", "digits", [], 5, 1e-3, 0.9, None),
    ("text_cnn", "fortunes", ["dim=16", "maps=8"], 8, 1e-2, 0.9, None),
    ("c3d", "clips_digit", ["width=4", "hidden=32", "dropout=0"], 10, 3e-3, 0.96, None),
    ("c3d", "clips_motion", ["width=4", "hidden=32", "dropout=0"], 10, 3e-3, 0.96, None),
    ("unet", "scenes_segment", ["width=4", "depth=2"], 10, 1e-2, 0.95, None),
    ("fcn", "scenes_segment", ["width=4"], 8, 1e-2, 0.9, None),
    ("yolo_v1", "scenes_detect", ["width=4", "hidden=32"], 10, 3e-3, 0.8, None),
    ("go_policy", "go9", ["filters=8", "layers=2"], 8, 1e-2, 0.9, None),
    ("go_policy", "go19", ["filters=8", "layers=2"], 8, 1e-2, 0.9, None),
    ("go_policy", "go19", ["filters=8", "layers=2", "head=points"], 8, 1e-2, 0.9, None),
]


@pytest.mark.parametrize("name, data, settings, steps, lr, factor, resize", SYSTEMS,
                         ids=[f"{s[0]}-{s[1]}{'-' + s[2][-1] if 'head=' in str(s[2]) else ''}"
                              for s in SYSTEMS])
def test_trains_by_name_on_its_data(tmp_path, name, data, settings, steps, lr, factor, resize):
    losses = train_by_name(tmp_path, name, data, settings=settings, steps=steps, lr=lr,
                           resize=resize, distinct=8 if "dropout=0" in settings and resize
                           else 16)
    assert len(losses) == steps
    assert falls(losses, factor), losses


def test_the_model_is_sized_for_the_data():
    spec, data = zoo_network("go_policy", "go9")
    assert spec["input"] == [11, 9, 9] and spec["layers"][-1] == {"dense": {"units": 82}} \
        or spec["layers"][-1]["dense"]["units"] == 82
    assert data == "go9"                                # bundled data kept by name
    spec, _ = zoo_network("unet", "scenes_segment")
    assert spec["input"] == [1, 48, 48] and cnnkit.build(spec).output_shape == (11, 48, 48)
    spec, (train_set, _) = zoo_network("text_cnn", "fortunes")
    assert spec["input"] == [1, 64] and tuple(train_set.x.shape[1:]) == (1, 64)
    embedding = spec["layers"][0]["embedding"]
    assert embedding["vocab"] == len(train_set.info["vocabulary"])
    assert cnnkit.build(spec).output_shape == (6,)      # the six topics, not Kim's 2


# ---- systems trained through the Python path ---------------------------------------------

def test_conv_autoencoder_by_name_from_the_command_line(tmp_path):
    assert "reconstruct" in CLI_TASKS
    spec, _ = zoo_network("conv_autoencoder", "mnist5k")
    assert spec["task"] == "reconstruct"
    losses = train_by_name(tmp_path, "conv_autoencoder", "mnist5k", steps=10, lr=1e-2)
    assert len(losses) == 10 and falls(losses, 0.9), losses


def fit_task(task, net, x, y, steps, lr, loss=None):
    gen = torch.Generator().manual_seed(SEED)
    optimiser = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        inputs, targets = task.prepare(x, y, generator=gen)
        value = loss(inputs, targets) if loss else task.loss(net(inputs), targets)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        losses.append(float(value.detach()))
    return losses


def test_denoising_autoencoder_trains_by_name_and_raises_psnr():
    torch.manual_seed(SEED)
    x, _ = sample("mnist5k", 32)
    x = x.x
    net = models.for_data("conv_autoencoder", (1, 28, 28), 10, filters=(8, 4))
    task = T.resolve_task("reconstruct", "mse", torch.zeros(len(x)), noise=0.2)
    task.check(net.output_shape, x)
    losses = fit_task(task, net, x, torch.zeros(len(x)), 40, 1e-2)
    assert falls(losses, 0.5), losses
    net.eval()
    with torch.no_grad():
        meter = task.meter()
        meter.update(net(task.prepare(x, torch.zeros(len(x)),
                                      generator=torch.Generator().manual_seed(1))[0]), x)
    assert meter.compute()["psnr"] > 12


def test_fast_rcnn_head_trains_by_name_on_scenes():
    torch.manual_seed(SEED)
    data, _ = sample("scenes_detect", 16)
    net = models.for_data("fast_rcnn", (1, 48, 48), 10, width=8, hidden=64)
    task = T.resolve_task("detect", "fast_rcnn", data.y)
    task.check(net.output_shape, data.y)
    assert falls(fit_task(task, net, data.x, data.y, 20, 3e-3), 0.5)


def test_recurrent_conv_shares_weights_over_steps_and_trains():
    torch.manual_seed(SEED)
    data, _ = sample("scenes_segment", 16)
    net = models.for_data("recurrent_conv", (1, 48, 48), 11, steps=3, width=8)
    single = models.for_data("recurrent_conv", (1, 48, 48), 11, steps=1, width=8)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in single.parameters())
    task = T.resolve_task("segment", None, data.y)
    losses = fit_task(task, net, data.x, data.y, 20, 1e-2, loss=net.loss)
    assert falls(losses, 0.8), losses
    outputs = net.step_outputs(data.x[:2])
    assert len(outputs) == 3 and not torch.equal(outputs[0], outputs[2])


def test_wavenet_trains_by_name_on_the_speech():
    torch.manual_seed(SEED)
    data, _ = sample("alsa_speech", 4)
    x = models.mu_law_decode(data.x[:, :512]).unsqueeze(1)
    y = data.y[:, :512]
    net = models.for_data("wavenet", (1, 512), 256, layers=4, stacks=1, residual_channels=8,
                          skip_channels=16)
    task = T.resolve_task("segment", None, y)
    losses = fit_task(task, net, x, y, 20, 1e-2)
    assert losses[0] > 0.9 * math.log(256) and falls(losses, 0.9), losses


# ---- bad input ---------------------------------------------------------------------------

def run_cli(args, capsys):
    code = main(["train", *args])
    return code, capsys.readouterr().err


def test_data_smaller_than_the_model_names_the_smallest_size_and_the_flag(capsys, tmp_path):
    code, err = run_cli(["vgg11", "--data", "digits", "--runs", str(tmp_path)], capsys)
    assert code == 2
    assert ("model 'vgg11' needs inputs of at least 32x32; the data gives 8x8 (input_shape=(1, "
            "8, 8)). Models never resize data: resize it to 32x32 (--resize 32 32 on the "
            "command line)") in err
    code, err = run_cli(["unet", "--data", "scenes_segment", "--resize", "50", "--runs",
                         str(tmp_path)], capsys)
    assert code == 2 and "model 'unet' needs inputs of at least 64x64; the data gives 50x50" in err


def test_a_model_for_other_targets_or_another_rank_is_refused(capsys, tmp_path):
    code, err = run_cli(["unet", "--data", "mnist5k", "--runs", str(tmp_path)], capsys)
    assert code == 2 and ("model 'unet' is trained to segment, but the data ('mnist5k') has "
                          "class targets (for task classify). Choose data with segmentation "
                          "targets") in err
    code, err = run_cli(["resnet18", "--data", "mnist1d", "--runs", str(tmp_path)], capsys)
    assert code == 2 and ("model 'resnet18' takes 2-D inputs (channels, height, width); the "
                          "data gives 1-D samples of shape (1, 40). Models for 1-D data: tdnn, "
                          "text_cnn, wavenet.") in err


def test_model_settings_and_resize_errors(capsys, tmp_path):
    code, err = run_cli(["tdnn", "--data", "mnist1d", "--model", "hiden=3"], capsys)
    assert code == 2 and "model 'tdnn' does not take 'hiden'. Did you mean 'hidden'?" in err
    code, err = run_cli(["tdnn", "--data", "mnist1d", "--model", "hidden"], capsys)
    assert code == 2 and "--model takes KEY=VALUE" in err
    code, err = run_cli(["tdnn", "--data", "mnist1d", "--resize", "8", "8"], capsys)
    assert code == 2 and ("--resize takes 1 size(s) for this data (samples of shape (1, 40)), "
                          "and resizes images and clips only. Received: --resize 8 8.") in err
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [1, 8, 8]\nlayers: [flatten, {dense: 10}]\n")
    code, err = run_cli([str(spec), "--data", "digits", "--resize", "16", "16"], capsys)
    assert code == 2 and "--resize sets up a zoo model for the data, and" in err


def test_resize_is_what_the_user_asked_for_and_the_head_has_the_datas_classes():
    spec, (train_set, test_set) = zoo_network("vgg11", "digits", resize=(32, 32))
    assert spec["input"] == [1, 32, 32] and tuple(train_set.x.shape[1:]) == (1, 32, 32)
    assert cnnkit.build(spec).output_shape == (10,)
    assert len(train_set) == 1438 and len(test_set) == 359
    spec, _ = zoo_network("resnet18", "digits")
    assert spec["input"] == [1, 8, 8]                   # no resize without --resize
    spec, (seg, _) = zoo_network("unet", "scenes_segment", resize=(64, 64),
                                 settings=["width=4", "depth=2"])
    assert tuple(seg.y.shape[1:]) == (64, 64) and seg.y.dtype == torch.int64
    assert set(seg.y.unique().tolist()) <= set(range(11)) | {255}
