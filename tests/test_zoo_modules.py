"""The zoo's systems that no sequence of layers describes (WaveNet, the Fast R-CNN head, the
recurrent convolutional network) train by name from the command line, through a spec that
names the Module (``model: {name, settings}``), and their run folders work with the rest of
the command line: eval, predict, resume, report, summary, export. And the errors of a bad
``model:`` entry, one line each naming the spec path."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
import yaml

import cnnkit
from cnnkit.cli.main import main
from cnnkit.data import load_dataset
from cnnkit.runs import checkpoint as ckpt
from cnnkit.runs import load_run_model
from cnnkit.spec import build, load

SEED = int(os.environ.get("CNNKIT_TEST_SEED", "0"))


def subset(tmp_path, name: str, count: int):
    """``count`` training samples of the bundled set ``name`` as an .npz file (the command
    line holds out a fifth of it for testing)."""
    data = load_dataset(name, "train")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(SEED))[:count]
    path = tmp_path / f"{name}.npz"
    np.savez(path, x=data.x[pick].numpy(), y=data.y[pick].numpy(),
             classes=np.array(list(data.classes)))
    return path


def cli_train(tmp_path, name, data, settings, *, epochs, lr, batch, extra=()):
    """Train the zoo model ``name`` by name; the run folder and its logged training losses."""
    runs = tmp_path / "runs"
    args = ["train", name, "--data", str(data), "--epochs", str(epochs), "--batch-size",
            str(batch), "--optimizer", "adam", "--lr", str(lr), "--seed", str(SEED),
            "--runs", str(runs), "--set", "progress=false", "--set", "report=false",
            "--set", "threads=1", "--set", "log_every=1", *extra]
    for item in settings:
        args += ["--model", item]
    assert main(args) == 0
    (run,) = runs.iterdir()
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return run, [line["loss"] for line in lines if line["split"] == "train"]


def falls(losses, factor):
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    return math.isfinite(last) and last < factor * first


def eval_json(run, capsys):
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def predict_json(run, sample, capsys):
    capsys.readouterr()
    assert main(["predict", str(run), str(sample), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_wavenet_trains_by_name_on_the_bundled_speech(tmp_path, capsys):
    # The bundled mu-law codes (N, 2048) go in as they are, with a channel axis: the model
    # decodes them; each position's target is the next code (task segment). Batches differ
    # much (silence is easy), so the epochs' mean losses are compared: 0.92-0.93 of the
    # first over seeds 0-2.
    run, _ = cli_train(tmp_path, "wavenet", "alsa_speech",
                       ["layers=3", "stacks=1", "residual_channels=8", "skip_channels=8"],
                       epochs=2, lr=3e-2, batch=16)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    means = [np.mean([r["loss"] for r in lines if r["split"] == "train" and r["epoch"] == e])
             for e in (1, 2)]
    assert means[0] > 0.95 * math.log(256) and means[1] < 0.96 * means[0], means
    spec = yaml.safe_load((run / "spec.yaml").read_text())
    assert spec["input"] == [1, 2048] and "layers" not in spec
    assert spec["model"] == {"name": "wavenet", "settings": {
        "num_classes": 256, "layers": 3, "stacks": 1, "residual_channels": 8, "skip_channels": 8}}
    assert "standardize" not in spec                    # codes are not standardised
    results = json.loads((run / "results.json").read_text())
    # eval on the run's own (bundled) data gives the recorded figures: the next-code NLL in
    # nats (the loss) and the share of next codes guessed (pixel accuracy).
    again = eval_json(run, capsys)
    assert again["count"] == 40 and again["loss"] == pytest.approx(results["test"]["loss"], rel=1e-5)
    assert again["pixel_accuracy"] == pytest.approx(results["test"]["pixel_accuracy"], abs=1e-6)
    assert again["loss"] < 0.96 * math.log(256)           # 5.16-5.23 nats over seeds 0-2
    # predict on a .npy of codes: they stay codes
    codes = load_dataset("alsa_speech", "test").x[:2, None].numpy()
    np.save(tmp_path / "codes.npy", codes)
    lines = predict_json(run, tmp_path / "codes.npy", capsys)
    assert len(lines) == 2 and lines[0]["task"] == "segment"
    assert sum(lines[0]["pixels"].values()) == 2048
    net = load_run_model(run)
    with torch.no_grad():
        as_codes = net(torch.from_numpy(codes[:1]))
        as_samples = net(cnnkit.models.mu_law_decode(torch.from_numpy(codes[:1])))
    torch.testing.assert_close(as_codes, as_samples)


def test_fast_rcnn_trains_by_name_and_its_run_evaluates_predicts_and_refuses_onnx(tmp_path,
                                                                                    capsys):
    data = subset(tmp_path, "scenes_detect", 40)
    run, losses = cli_train(tmp_path, "fast_rcnn", data, ["width=4", "hidden=32"],
                            epochs=8, lr=3e-3, batch=16)
    assert falls(losses, 0.6), losses
    spec = yaml.safe_load((run / "spec.yaml").read_text())
    assert spec["task"] == "detect" and spec["loss"] == "fast_rcnn"
    assert spec["model"]["settings"]["num_classes"] == 10
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["task"]["name"] == "detect" and config["task"]["loss"] == "fast_rcnn"
    results = json.loads((run / "results.json").read_text())
    again = eval_json(run, capsys)
    assert "mAP" in again and again["mAP"] == pytest.approx(results["test"]["mAP"], abs=1e-6)
    x = np.load(data)["x"][:2]
    np.save(tmp_path / "two.npy", x)
    lines = predict_json(run, tmp_path / "two.npy", capsys)
    assert len(lines) == 2 and all(line["task"] == "detect" and "boxes" in line for line in lines)
    # RoI pooling does not export: one line that says why
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "f.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == (
        "cnnkit export: error: model (RoIDetector) has no ONNX equivalent yet: its RoI max "
        "pooling sizes each region's bins from the box values, shapes that depend on the data "
        "and that the exporter cannot trace. Replace it with a layer that exports "
        "(docs/export.md lists them), or keep this model in PyTorch."), err
    assert not (tmp_path / "f.onnx").exists()


def test_recurrent_conv_trains_on_every_step_and_its_run_reports_and_exports(tmp_path, capsys):
    data = subset(tmp_path, "scenes_segment", 40)
    run, losses = cli_train(tmp_path, "recurrent_conv", data, ["width=4", "steps=2"],
                            epochs=6, lr=1e-2, batch=16, extra=["--set", "report=true"])
    assert falls(losses, 0.8), losses
    net = load_run_model(run)
    assert net.supervises_steps and net.model.steps == 2
    # the logged training loss is the mean over the steps of each step's cross-entropy
    x, y = torch.from_numpy(np.load(data)["x"][:8]), torch.from_numpy(np.load(data)["y"][:8])
    with torch.no_grad():
        steps = net(x, every_step=True)
        assert len(steps) == 2 and torch.equal(steps[-1], net(x))
    results = json.loads((run / "results.json").read_text())
    again = eval_json(run, capsys)
    assert again["mean_iou"] == pytest.approx(results["test"]["mean_iou"], abs=1e-6)
    np.save(tmp_path / "two.npy", x[:2].numpy())
    lines = predict_json(run, tmp_path / "two.npy", capsys)
    assert len(lines) == 2 and sum(lines[0]["pixels"].values()) == 48 * 48
    assert (run / "report" / "index.html").is_file()   # fewer pictures, no crash
    capsys.readouterr()
    assert main(["summary", str(run / "spec.yaml")]) == 0
    table = capsys.readouterr().out
    assert table.count("model.step.layers.0") == 2       # the same layer at both steps
    assert "4,115" not in table and f"{sum(p.numel() for p in net.parameters()):,}" in table
    pytest.importorskip("onnxruntime")
    assert main(["export", str(run), "--out", str(tmp_path / "r.onnx")]) == 0


def test_a_killed_run_of_a_zoo_module_resumes_exactly(tmp_path, capsys):
    from cnnkit.cli._model_choice import zoo_network
    from cnnkit.train.api import resume, train
    from cnnkit.train.callbacks import Callback

    data = subset(tmp_path, "scenes_segment", 40)
    spec, given = zoo_network("recurrent_conv", str(data), settings=["width=4", "steps=2"])
    config = {"epochs": 3, "batch_size": 8, "optimizer": "adam", "lr": 1e-2, "progress": False,
              "report": False, "checkpoint_every": 2, "seed": SEED, "threads": 1}
    whole = train(spec, given, config, run_dir=tmp_path / "whole")

    class Kill(Callback):
        def on_step(self, trainer, info):
            if info["step"] == 7:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(spec, given, config, run_dir=tmp_path / "killed", callbacks=[Kill()])
    assert ckpt.load_latest(tmp_path / "killed" / "checkpoints").state["step"] == 6
    assert main(["train", "--resume", str(tmp_path / "killed")]) == 0
    expected = ckpt.load_latest(tmp_path / "whole" / "checkpoints")
    got = ckpt.load_latest(tmp_path / "killed" / "checkpoints")
    assert got.state["step"] == expected.state["step"] == whole.steps
    for name, tensor in expected.prefixed("model").items():
        assert torch.equal(tensor, got.prefixed("model")[name]), name


# ---- the spec form ------------------------------------------------------------------------

def test_a_model_spec_round_trips_and_builds_the_registered_module():
    spec = {"name": "w", "input": [1, 64], "model": {"name": "wavenet", "settings": {
        "layers": 3, "stacks": 1}}}
    net = build(spec)
    assert isinstance(net.model, cnnkit.models.WaveNet) and len(net.layers) == 0
    assert net.output_shape == (256, 64) and net.task == "segment"
    assert net.loss == "softmax_cross_entropy"
    assert build(net.spec()).spec() == net.spec()
    assert net.spec()["model"]["settings"]["residual_channels"] == 32   # defaults written
    assert load(spec).to_dict(defaults=False)["model"] == spec["model"]
    text = net.to_yaml()
    assert build(text).spec() == net.spec()
    # The same parameters as the zoo's own Module, under "model."
    own = cnnkit.create_model("wavenet", input_shape=(1, 64), layers=3, stacks=1)
    assert {f"model.{k}" for k in own.state_dict()} == set(net.state_dict())
    # A setting of the model's own: batch normalisation in the recurrent network's step
    normed = build({"input": [1, 16, 16], "model": {"name": "recurrent_conv",
                                                    "settings": {"width": 4, "batch_norm": True}}})
    assert any(isinstance(m, cnnkit.layers.BatchNorm) for m in normed.modules())
    assert normed.spec()["model"]["settings"]["batch_norm"] is True
    # A spec's standardize: is applied before the Module
    with_stats = build({**spec, "input": [1, 48, 48], "model": "recurrent_conv",
                        "standardize": {"mean": [2.0], "std": [4.0]}})
    x = torch.randn(2, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(with_stats(x), with_stats.model((x - 2) / 4))


@pytest.mark.parametrize("model, message", [
    ({"name": "wavnet"}, r"^model\.name: unknown model 'wavnet'\. Did you mean 'wavenet'\? "
                         r"Registered models: .*Write a registered name "
                         r"\(cnnkit\.models\.list_models\(\)\), or layers: instead of model:\.$"),
    ({"name": "wavenet", "settings": {"layer": 3}},
     r"^model\.settings\.layer: model 'wavenet' has no setting 'layer'\. Did you mean 'layers'\? "
     r"Settings: num_classes, layers, stacks, residual_channels, skip_channels\.$"),
    ({"name": "wavenet", "settings": {"layers": 0}},
     r"^model\.settings\.layers: model 'wavenet' for input \[1, 64\]: layers must be positive\. "
     r"Received: layers=0\.$"),
    ({"name": "wavenet", "settings": {"input_shape": [1, 64]}},
     r"^model\.settings\.input_shape: the input_shape of a model is the spec's input: "
     r"\(channels first\)\. Remove it from the settings\.$"),
    ({"name": "wavenet", "setting": {}},
     r"^model\.setting: unknown key 'setting'\. Did you mean 'settings'\? model: takes name and "
     r"settings\.$"),
    ({"name": "wavenet", "settings": [3]},
     r"^model\.settings: must be a mapping of the model's settings \(e\.g\. \{num_classes: 10\}\)\. "
     r"Received: \[3\] \(list\)\.$"),
    (3, r"^model: must be a mapping \{name: MODEL, settings: \{\.\.\.\}\} naming a zoo model\. "
        r"Received: 3 \(int\)\.$"),
])
def test_a_bad_model_entry_is_one_line_naming_the_spec_path(model, message):
    with pytest.raises(cnnkit.SpecError, match=message) as caught:
        load({"input": [1, 64], "model": model})
    assert "\n" not in str(caught.value)


def test_model_errors_in_a_file_name_the_line_and_both_keys_are_refused(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 48, 48]\nmodel:\n  name: fast_rcnn\n  settings: {widht: 8}\n")
    with pytest.raises(cnnkit.SpecError, match=r"net\.yaml:4:14: model\.settings\.widht: model "
                                               r"'fast_rcnn' has no setting 'widht'\. Did you "
                                               r"mean 'width'\?"):
        load(path)
    path.write_text("input: [1, 48, 48]\nlayers: [flatten]\nmodel: {name: fast_rcnn}\n")
    with pytest.raises(cnnkit.SpecError, match=r"net\.yaml:3:1: model: a spec gives either "
                                               r"layers: or model: \(a zoo Module that builds the "
                                               r"whole network\), not both\. Remove one\.$"):
        load(path)
    path.write_text("input: [1, 48, 48]\nmodel: {name: fast_rcnn, settings: {num_classes: 0}}\n")
    with pytest.raises(cnnkit.SpecError, match=r"net\.yaml:2:\d+: model\.settings\.num_classes: "
                                               r"model 'fast_rcnn' for input \[1, 48, 48\]: "
                                               r"num_classes must be a positive int \(object "
                                               r"classes, without background\)\. Received: "
                                               r"num_classes=0\.$"):
        load(path)


def test_a_bad_model_spec_on_the_command_line_is_one_line(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text("input: [1, 48, 48]\nmodel: {name: recurent_conv}\n")
    status = main(["train", str(path), "--data", "scenes_segment", "--runs", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith(f"cnnkit train: error: {path}:2:9: model.name: unknown model "
                             f"'recurent_conv'. Did you mean 'recurrent_conv'?"), err
