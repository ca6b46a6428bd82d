"""ONNX export: every exported file is run in onnxruntime and compared with PyTorch at a batch
size other than the one it was exported with."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

from cnnkit import layers as L  # noqa: E402
from cnnkit._validation import ArgumentError  # noqa: E402
from cnnkit.cli.main import main  # noqa: E402
from cnnkit.export import ExportError, compare_onnx, to_onnx  # noqa: E402
from cnnkit.models import create_model  # noqa: E402
from cnnkit.spec import build  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_onnx(path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def assert_matches(model, path, input_shape, batch=5):
    """onnxruntime equals PyTorch on a fresh batch of ``batch`` (the export used 2)."""
    x = torch.randn(batch, *input_shape)
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    got = run_onnx(path, x)
    assert got.shape == expected.shape
    diff = float(np.abs(got - expected).max())
    assert diff <= 1e-4, diff
    return diff


@pytest.mark.parametrize("example", ["timeseries_1d", "volume_3d", "small_resnet",
                                     "inception_block", "lenet5"])
def test_example_specs_export_and_match(example, tmp_path):
    net = build(EXAMPLES / f"{example}.yaml")
    report = to_onnx(net, tmp_path / "net.onnx")
    assert report.input_shapes == [("batch", *net.input_shape)]
    assert report.output_shapes == [("batch", *net.output_shape)]
    assert report.max_abs_diff <= 1e-4 and report.check_batch_size == 3
    assert report.size_bytes == (tmp_path / "net.onnx").stat().st_size > 0
    assert_matches(net, tmp_path / "net.onnx", net.input_shape, batch=7)


@pytest.mark.parametrize("output_size", [2, (3, 2, 4)])
def test_3d_adaptive_average_pool_exports_when_sizes_do_not_divide(output_size, tmp_path):
    # The converter has no translation of 3-D adaptive average pooling; the export rewrites it
    # (one average pool when the sizes divide, one mean per bin otherwise).
    model = L.Sequential(L.Conv3d(2, 3, 1), L.AdaptiveAvgPool(output_size, dims=3))
    report = to_onnx(model, tmp_path / "m.onnx", input_shape=(2, 7, 6, 9))
    assert report.input_shapes == [("batch", 2, 7, 6, 9)]
    out = (3, 2, 4) if output_size != 2 else (2, 2, 2)
    assert report.output_shapes == [("batch", 3, *out)]
    assert_matches(model, tmp_path / "m.onnx", (2, 7, 6, 9), batch=4)


def test_zoo_lenet5_and_resnet18_on_a_small_input(tmp_path):
    lenet = create_model("lenet5")
    to_onnx(lenet, tmp_path / "lenet.onnx")
    assert_matches(lenet, tmp_path / "lenet.onnx", lenet.input_shape, batch=4)
    resnet = create_model("resnet18", num_classes=10, input_shape=(3, 64, 64))
    report = to_onnx(resnet, tmp_path / "resnet.onnx")
    assert report.input_shapes == [("batch", 3, 64, 64)]
    assert report.output_shapes == [("batch", 10)]
    assert report.size_bytes > 40e6  # 11 million float32 weights are in the file
    assert_matches(resnet, tmp_path / "resnet.onnx", (3, 64, 64), batch=3)


def test_plain_sequential_needs_and_takes_an_input_shape(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    with pytest.raises(ArgumentError, match=r"input_shape is needed to export a Sequential.*"
                                            r"Received: input_shape=None.*input_shape=\(3, 32, 32\)"):
        to_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    report = to_onnx(model, tmp_path / "m.onnx", input_shape=(2, 12, 12))
    assert report.input_names == ["input"] and report.output_names == ["output"]
    assert_matches(model, tmp_path / "m.onnx", (2, 12, 12), batch=6)


def test_model_goes_back_to_its_training_mode(tmp_path):
    net = build(EXAMPLES / "timeseries_1d.yaml").train()
    to_onnx(net, tmp_path / "net.onnx", check=False)
    assert all(m.training for m in net.modules())


def test_check_catches_a_model_that_changed_after_export(tmp_path):
    net = build(EXAMPLES / "lenet5.yaml")
    path = tmp_path / "net.onnx"
    to_onnx(net, path)
    assert compare_onnx(path, net, batch_size=4) <= 1e-4
    with torch.no_grad():
        net.layers[0].weight[0, 0, 0, 0] += 1.0
    with pytest.raises(ExportError, match=r"does not compute what the PyTorch model does: max abs "
                                          r"difference .* > atol=0.0001 on a random batch of 4\. "
                                          r"Export the model again"):
        compare_onnx(path, net, batch_size=4)


@pytest.mark.parametrize("layer, input_shape, kind", [
    (L.FFTConv2d(4, 4, 3, padding=1), (4, 8, 8), "FFTConv2d"),
    (L.StochasticPool(2), (4, 8, 8), "StochasticPool"),
    (L.FractionalMaxPool(ratio=1.5), (4, 8, 8), "FractionalMaxPool"),
    (L.LocallyConnectedTranspose2d(4, 4, 3, input_size=(8, 8)), (4, 8, 8),
     "LocallyConnectedTranspose2d"),
])
def test_unsupported_layer_is_named_by_its_path(layer, input_shape, kind, tmp_path):
    model = L.Sequential(L.Conv2d(input_shape[0], 4, 1), L.ReLU(), layer)
    with pytest.raises(ExportError, match=rf"^\[2\] \({kind}\) has no ONNX equivalent yet: .*"
                                          r"docs/export.md"):
        to_onnx(model, tmp_path / "m.onnx", input_shape=input_shape)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_layer_in_a_spec_network_names_the_spec_path(tmp_path):
    net = build({"input": [1, 8, 8], "layers": [
        {"conv": {"filters": 2, "kernel": 3, "activation": "relu"}},
        {"stochastic_pool": 2}, "flatten", {"dense": 3}]})
    with pytest.raises(ExportError, match=r"^layers\[2\] \(StochasticPool\) has no ONNX "
                                          r"equivalent yet: its check for negative inputs"):
        to_onnx(net, tmp_path / "net.onnx")


@pytest.mark.parametrize("layer, input_shape", [
    (L.LocallyConnected2d(3, 4, 3, input_size=(8, 8)), (3, 8, 8)),
    (L.TiledConv2d(3, 4, 3, tiles=2), (3, 8, 8)),
    (L.LpPool(2, p=2.0), (3, 8, 8)),
    (L.DropConnectConv2d(3, 4, 3), (3, 8, 8)),
    (L.DropConnectDense(12, 4), (12,)),
])
def test_special_layers_that_export_match(layer, input_shape, tmp_path):
    layer.train()  # exported in eval mode whatever the mode (DropConnect uses mean weights)
    report = to_onnx(layer, tmp_path / "m.onnx", input_shape=input_shape)
    assert report.max_abs_diff <= 1e-4
    assert_matches(layer, tmp_path / "m.onnx", input_shape, batch=4)


def test_bad_arguments_are_refused(tmp_path):
    net = build(EXAMPLES / "lenet5.yaml")
    with pytest.raises(ArgumentError, match=r"batch_size must be an int >= 2 .* Received: "
                                            r"batch_size=1\."):
        to_onnx(net, tmp_path / "n.onnx", batch_size=1)
    with pytest.raises(ArgumentError, match=r"input_shape must be one sample's shape.*"
                                            r"Received: input_shape=\(0, 28\)"):
        to_onnx(net, tmp_path / "n.onnx", input_shape=(0, 28))
    with pytest.raises(ArgumentError, match=r"opset must be an ONNX opset version from 18 to \d+ "
                                            r"\(older ones only where the ONNX version converter "
                                            r"translates every operator of the model\), or None"):
        to_onnx(net, tmp_path / "n.onnx", opset=500)
    assert not list(tmp_path.iterdir())


def test_an_opset_the_exporter_falls_back_from_is_an_error(tmp_path):
    # torch.onnx cannot convert this graph down to opset 3; it used to write opset 18 instead
    # and the export "succeeded".
    net = build(EXAMPLES / "lenet5.yaml")
    with pytest.raises(ExportError, match=r"cannot write this Network in ONNX opset 3 .* it fell "
                                          r"back to opset 18\)\. Received: opset=3\. Use an opset "
                                          r"from 18 to"):
        to_onnx(net, tmp_path / "n.onnx", opset=3)
    assert not list(tmp_path.iterdir())  # neither the file nor its temporary
    assert to_onnx(net, tmp_path / "n.onnx", opset=20).opset == 20


def test_an_existing_file_is_kept_without_overwrite(tmp_path):
    net = build(EXAMPLES / "lenet5.yaml")
    path = tmp_path / "n.onnx"
    path.write_text("keep me")
    with pytest.raises(ArgumentError, match=r"path '.*n\.onnx' exists already\. Received: "
                                            r"path='.*', overwrite=False"):
        to_onnx(net, path, overwrite=False)
    assert path.read_text() == "keep me"
    to_onnx(net, path)  # the library default replaces it, as open(path, "w") would
    assert path.stat().st_size > 1000


def test_the_file_has_the_mode_of_any_file_the_user_writes(tmp_path):
    from cnnkit._files import default_file_mode

    net = build(EXAMPLES / "lenet5.yaml")
    old = os.umask(0o022)
    try:
        to_onnx(net, tmp_path / "n.onnx", check=False)
        assert default_file_mode() == 0o644
    finally:
        os.umask(old)
    assert (tmp_path / "n.onnx").stat().st_mode & 0o777 == 0o644  # mkstemp alone gives 0600


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from cnnkit.train.api import train

    root = tmp_path_factory.mktemp("export_run")
    spec = {"name": "digits_tiny", "input": [1, 8, 8], "layers": [
        {"conv": {"filters": 4, "kernel": 3, "padding": "same", "activation": "relu"}},
        {"maxpool": 2}, "flatten", {"dense": 10}], "loss": "softmax_cross_entropy"}
    result = train(spec, "digits", dict(epochs=1, progress=False, threads=1),
                   runs_root=root / "runs")
    (run,) = (root / "runs").iterdir()
    return run


def test_cli_exports_a_trained_run(tiny_run, tmp_path, capsys):
    from cnnkit.runs import load_run_model

    out = tmp_path / "model.onnx"
    assert main(["export", str(tiny_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "input  input: (batch, 1, 8, 8)" in printed
    assert "max abs difference" in printed
    assert_matches(load_run_model(tiny_run), out, (1, 8, 8), batch=9)


def test_cli_unknown_source_exits_2_with_a_hint(tmp_path, capsys):
    assert main(["export", "lenet", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "RUN must be a run folder or a zoo model name. Received: 'lenet'" in err
    assert "Did you mean 'lenet5'?" in err
