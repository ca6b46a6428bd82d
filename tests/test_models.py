"""The zoo registry, LeNet-5, and the example specs under examples/."""

import inspect
import pathlib

import pytest
import torch
import torch.nn as nn

import cnnkit
from cnnkit import layers as L
from cnnkit import models
from cnnkit import spec as S
from cnnkit._validation import ArgumentError

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_SPECS = sorted(EXAMPLES.glob("*.yaml"))


# A small input of each rank, and settings that keep the widest models quick to build.
SMALL = {1: (1, 40), 2: (3, 32, 32), 3: (1, 4, 16, 16)}
LIGHT = {"c3d": {"width": 4, "hidden": 32}, "text_cnn": {"vocab": 100, "dim": 16},
         "wavenet": {"layers": 4, "stacks": 1}}


def _classes_out(name, model):
    """The classes the model's output says it has: one map or unit per class, except the
    detectors (5 B + C grid channels; 5 (C + 1) values per region) and the autoencoder
    (the input's channels, whatever the classes)."""
    if name == "yolo_v1":
        return model.output_shape[0] - 5 * 2
    if name == "fast_rcnn":
        return model.output_shape[1] // 5 - 1
    if name == "conv_autoencoder":
        assert model.output_shape == model.input_shape
        return None
    return model.output_shape[0]


def _input(model, batch=2):
    first = next(m for m in model.modules() if isinstance(m, L.Layer))
    if first.index_input:
        return torch.randint(0, first.vocab, (batch, *model.input_shape))
    return torch.rand(batch, *model.input_shape)


@pytest.mark.parametrize("name", cnnkit.list_models())
def test_every_registered_model_builds_for_data_runs_and_summarises(name):
    shape = SMALL[models.model_dims(name)]
    model = models.for_data(name, shape, 3, **LIGHT.get(name, {})).eval()
    assert model.input_shape == shape
    with torch.no_grad():
        out = model(_input(model))
    assert out.shape == (2, *model.output_shape) and _classes_out(name, model) in (3, None)
    assert torch.isfinite(out).all()
    table = cnnkit.summary(model, None if hasattr(model, "spec") else shape)
    assert table.total_params == sum(p.numel() for p in model.parameters())
    if hasattr(model, "spec"):                       # a spec: it round-trips, through YAML too
        assert S.load(model.to_yaml()).to_dict() == model.spec()


@pytest.mark.parametrize("name", cnnkit.list_models())
def test_every_registered_model_builds_with_its_defaults(name):
    with torch.device("meta"):                      # shapes only: C3D has 80 M parameters
        model = cnnkit.create_model(name)
    assert len(model.input_shape) == models.model_dims(name) + 1
    assert _classes_out(name, model) == inspect.signature(
        models.model_entrypoint(name)).parameters["num_classes"].default


def test_list_models_pattern_and_rank():
    assert "lenet5" in cnnkit.list_models()
    assert cnnkit.list_models("lenet*") == ["lenet5", "lenet5_1998"]
    assert cnnkit.list_models("nonexistent*") == []
    assert cnnkit.list_models(dims=1) == ["tdnn", "text_cnn", "wavenet"]
    assert cnnkit.list_models(dims=3) == ["c3d"]
    assert set(cnnkit.list_models(dims=2)) >= {"allconv", "lenet5_1998", "neocognitron",
                                                "resnet18", "vgg16"}
    with pytest.raises(ArgumentError, match=r"dims must be 1, 2 or 3 \(spatial dimensions of the "
                                            r"data\)\. Received: dims=4\."):
        cnnkit.list_models(dims=4)


def test_lenet5_is_the_same_network_as_examples_lenet5_yaml():
    zoo = cnnkit.create_model("lenet5")
    yaml_net = cnnkit.build(EXAMPLES / "lenet5.yaml")
    assert zoo.spec() == yaml_net.spec()
    assert repr(zoo) == repr(yaml_net)


def test_lenet5_shape_parameters_and_layers():
    net = models.lenet5()
    assert sum(p.numel() for p in net.parameters()) == 61706
    rows = cnnkit.summary(net).rows
    assert [r["output_shape"] for r in rows if r["type"] in ("conv", "avgpool", "dense")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    assert [r["type"] for r in rows].count("tanh") == 4
    assert net.loss == "softmax_cross_entropy"


def test_lenet5_overrides():
    net = cnnkit.create_model("lenet5", num_classes=3, activation="relu")
    assert net.output_shape == (3,)
    types = [row["type"] for row in cnnkit.summary(net).rows]
    assert types.count("relu") == 4 and "tanh" not in types
    plain = cnnkit.create_model("lenet5", activation="none")
    assert len(plain.layers) == 8
    wide = cnnkit.create_model("lenet5", input_shape=(3, 32, 32))
    assert wide.layers[7].in_features == 16 * 6 * 6


def test_register_model_and_create_it():
    @models.register_model(name="example_tiny")
    def tiny(width: int = 2):
        return cnnkit.build({"name": "tiny", "input": [1, 4, 4],
                             "layers": [{"conv": {"filters": width, "kernel": 3}}]})

    try:
        assert "example_tiny" in cnnkit.list_models("example_*")
        assert cnnkit.create_model("example_tiny", width=5).output_shape == (5, 2, 2)
        assert models.model_entrypoint("example_tiny") is tiny
        with pytest.raises(ArgumentError, match=r"model 'example_tiny' is already registered"):
            models.register_model(name="example_tiny")(lambda: nn.Identity())
    finally:
        models._registry._MODELS.pop("example_tiny")


def test_examples_directory_has_the_five_networks():
    assert {p.stem for p in EXAMPLE_SPECS} >= {"lenet5", "timeseries_1d", "volume_3d",
                                              "small_resnet", "inception_block"}


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_example_builds_runs_and_summarises(path):
    net = cnnkit.build(path).eval()
    out = net(torch.randn(2, *net.input_shape))
    assert out.shape == (2, *net.output_shape)
    table = cnnkit.summary(net)
    assert table.total_params == sum(p.numel() for p in net.parameters())
    assert str(table).splitlines()[0].startswith(f"{net.name}: input ")
    assert cnnkit.build(net.spec()).spec() == net.spec() == S.load(path).to_dict()


def test_examples_cover_1d_3d_residual_and_parallel():
    rank = {p.stem: len(S.load(p).input) - 1 for p in EXAMPLE_SPECS}
    assert rank["timeseries_1d"] == 1 and rank["volume_3d"] == 3
    types = {p.stem: {row.type for row in S.load(p).rows} for p in EXAMPLE_SPECS}
    assert "residual" in types["small_resnet"]
    assert "parallel" in types["inception_block"]
    inception = cnnkit.summary(EXAMPLES / "inception_block.yaml").rows
    assert inception[2]["type"] == "parallel" and inception[2]["output_shape"] == (56, 32, 32)
