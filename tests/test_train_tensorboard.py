"""TensorBoard events without the tensorboard package, read back by the real one: scalars,
images (filters, activation maps), histograms (every parameter) and hyperparameters.

The reading half is skipped where the ``tensorboard`` package is not installed (it is in
the ``test`` extra); the writing half is checked with cnnkit's own reader either way."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit.train.tensorboard import EventWriter, log_epoch, map_grid, read_events


def _accumulator(directory):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(directory), size_guidance={
        ea.IMAGES: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0, ea.SCALARS: 0})
    acc.Reload()
    return acc


def test_map_grid_places_each_map_on_one_scale():
    maps = np.stack([np.zeros((2, 2)), np.ones((2, 2))])
    grid = map_grid(maps, columns=2, scale=1)
    assert grid.shape == (2, 5, 3)
    assert grid[0, 0, 0] == 0 and grid[0, 3, 0] == 255 and grid[0, 2, 0] == 64  # the gap


def test_images_histograms_and_hparams_read_by_tensorboard(tmp_path):
    picture = np.zeros((6, 9, 3), np.uint8)
    picture[1, 2] = (255, 0, 0)
    values = np.concatenate([np.zeros(10), np.ones(30)])
    w = EventWriter(tmp_path)
    w.scalars(1, {"train/loss": 0.5})
    w.image(3, "filters/conv", picture)
    w.histogram(3, "weights/w", values)
    w.hparams({"lr": 0.1, "optimizer": "sgd", "nesterov": True, "aug": ["flip", "crop"],
               "model": {"width": 8}}, ["val/loss"])
    w.close()
    mine = {tag: value for _, tag, value in read_events(w.path)}
    assert mine["filters/conv"] == ("image", 6, 9) and mine["weights/w"] == ("histogram", 40)

    acc = _accumulator(tmp_path)
    tags = acc.Tags()
    assert tags["images"] == ["filters/conv"] and tags["histograms"] == ["weights/w"]
    (image,) = acc.Images("filters/conv")
    assert (image.step, image.height, image.width) == (3, 6, 9)
    decoded = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)))
    assert np.array_equal(decoded, picture)
    (histo,) = acc.Histograms("weights/w")
    h = histo.histogram_value
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (0.0, 1.0, 40.0, 30.0, 30.0)
    assert sum(h.bucket) == 40 and h.bucket[0] == 10 and h.bucket[-1] == 30
    assert h.bucket_limit[-1] == 1.0

    from tensorboard.plugins.hparams import plugin_data_pb2

    content = acc.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    names = {info.name: info.type for info in experiment.experiment.hparam_infos}
    assert names == {"lr": 3, "optimizer": 1, "nesterov": 2, "aug": 1, "model.width": 3}
    assert [m.name.tag for m in experiment.experiment.metric_infos] == ["val/loss"]
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == 0.1
    assert start.hparams["optimizer"].string_value == "sgd"
    assert start.hparams["nesterov"].bool_value is True
    assert start.hparams["aug"].string_value == "flip, crop"


def test_log_epoch_writes_filters_activations_and_weights(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(3 * 4 * 4, 2))
    net.train()
    w = EventWriter(tmp_path)
    log_epoch(w, net, 7, torch.rand(1, 1, 6, 6), hparams={"lr": 0.01})
    log_epoch(w, net, 8, torch.rand(1, 1, 6, 6), hparams={"lr": 0.01})
    w.close()
    assert net.training  # the mode is restored
    events = read_events(w.path)
    tags = [t for _, t, _ in events]
    assert tags.count("_hparams_/experiment") == 1  # once per run
    found = {(s, t): v for s, t, v in events}
    # the filters: 3 maps of 3x3, scaled by 10 to 30x30, 1 px gaps
    assert found[(7, "filters/0")] == ("image", 30, 3 * 31 - 1)
    # the activation maps of the conv layer: 3 maps of 4x4, scaled by 8 to 32x32, 1 px gaps
    assert found[(7, "activations/0")] == ("image", 32, 3 * 33 - 1)
    assert found[(8, "weights/3.weight")] == ("histogram", 2 * 48)


def test_log_epoch_warns_once_and_goes_on(tmp_path):
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("no")

    w = EventWriter(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"TensorBoard pictures are off for this run "
                                            r"\(RuntimeError: no\); the scalars go on"):
        log_epoch(w, torch.nn.Sequential(Broken()), 1, torch.rand(1, 3))
    log_epoch(w, torch.nn.Sequential(Broken()), 2, torch.rand(1, 3))  # silent now
    w.scalars(2, {"train/loss": 1.0})
    w.close()
    assert (2, "train/loss", 1.0) in read_events(w.path)


def test_a_training_run_has_pictures_and_hparams_in_tensorboard(tmp_path):
    from cnnkit.train.api import train

    spec = {"name": "tb", "input": [1, 8, 8], "layers": [
        {"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "flatten", {"dense": 10}]}
    result = train(spec, "digits", dict(epochs=2, progress=False, threads=1, report=False),
                   runs_root=tmp_path)
    tb = result.run_dir / "tb"
    events = read_events(next(tb.iterdir()))
    tags = {t for _, t, _ in events}
    assert {"filters/layers.0", "activations/layers.0", "weights/layers.0.weight",
            "_hparams_/session_start_info", "train/loss"} <= tags
    steps = sorted({s for s, t, _ in events if t == "weights/layers.0.weight"})
    assert len(steps) == 2  # one histogram per epoch

    acc = _accumulator(tb)
    assert "filters/layers.0" in acc.Tags()["images"]
    (first, _) = acc.Images("activations/layers.0")
    assert (first.height, first.width) == (30, 4 * 31 - 1)  # 4 maps of 6x6, scaled by 5
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(
        acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(result.config.lr)
