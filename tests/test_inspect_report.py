"""The run report written at the end of training, `cnnkit report` and `cnnkit inspect`."""

import base64
import html
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli.main import main
from cnnkit.data import load_dataset
from cnnkit import train_and_report
from cnnkit.train.api import train

SPEC = """
name: digits_report
input: [1, 8, 8]
layers:
  - conv: {filters: 8, kernel: 3, padding: same, activation: relu}
  - maxpool: 2
  - conv: {filters: 12, kernel: 3, padding: same, activation: relu}
  - flatten
  - dense: {units: 24, activation: relu}
  - dense: 10
loss: softmax_cross_entropy
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "net.yaml").write_text(SPEC)
    status = main(["train", str(root / "net.yaml"), "--data", "digits", "--epochs", "6",
                   "--lr", "0.1", "--set", "progress=false", "--set", "threads=1",
                   "--runs", str(root / "runs")])
    assert status == 0
    (path,) = (root / "runs").iterdir()
    return path


def _images(page: str):
    return re.findall(r'<img alt="([^"]*)" src="([^"]*)"', page)


def test_training_writes_a_self_contained_report(run):
    page = (run / "report" / "index.html").read_text()
    # Self-contained: no address outside the file, no script, no style sheet to fetch.
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//[a-z]|url\(", text, re.I)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    images = _images(page)
    assert len(images) >= 8 and len(sources) == len(images) + page.count('href="#')
    for alt, src in images:
        assert src.startswith("data:image/png;base64,"), alt
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        Image.open(io.BytesIO(png)).verify()
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#") and f'id="{href[1:]}"' in page


def test_report_has_the_learning_curve_and_the_confusion_matrix(run):
    page = (run / "report" / "index.html").read_text()
    alts = [alt for alt, _ in _images(page)]
    for wanted in ("learning curves", "confusion matrix", "first-layer filters",
                   "activation maps of test sample 0", "saliency of test image 0",
                   "receptive field of the most active unit",
                   "PCA of the penultimate layer coloured by class"):
        assert any(wanted in alt for alt in alts), wanted
    # the curve is the one of metrics.jsonl: the PNG next to the page is the inlined one
    curves = dict((alt, src) for alt, src in _images(page))
    inlined = next(src for alt, src in curves.items() if "learning curves" in alt)
    assert base64.b64decode(inlined.split(",", 1)[1]) == (run / "report" / "curves.png").read_bytes()
    # the confusion matrix counts the whole test split, and agrees with results.json
    results = json.loads((run / "results.json").read_text())["test"]
    match = re.search(r"(\d+) of (\d+) test samples correct \(accuracy ([0-9.]+)\)", page)
    assert match, "the confusion section states the counts"
    correct, total, accuracy = int(match[1]), int(match[2]), float(match[3])
    assert total == results["count"] == len(load_dataset("digits", "test"))
    assert correct == round(results["accuracy"] * total)
    assert accuracy == pytest.approx(results["accuracy"], abs=1e-4)
    # per-class rows add up to the test set
    rows = re.findall(r"<tr><td>(\d)</td><td>(\d+)</td><td>([0-9.]+|-)</td></tr>", page)
    assert len(rows) == 10 and sum(int(n) for _, n, _ in rows) == total
    # and the summary table lists every layer with its shape
    text = html.unescape(page)
    assert "layers[0]" in text and "8x8x8" in text and "layers[7]" in text


def test_cnnkit_report_rebuilds_it(run, capsys):
    target = run / "report" / "index.html"
    target.unlink()
    assert main(["report", str(run), "--examples", "2"]) == 0
    assert f"report: {target}" in capsys.readouterr().out
    page = target.read_text()
    assert page.count("saliency of test image") == 2
    assert "last weights" in page  # results.json describes the last weights here


def test_report_false_writes_none(tmp_path):
    result = train(SPEC, "digits", dict(epochs=1, progress=False, threads=1, report=False),
                   runs_root=tmp_path)
    assert not (result.run_dir / "report").exists()


def test_cnnkit_inspect_writes_the_pictures_of_one_image(run, tmp_path, capsys):
    test = load_dataset("digits", "test")
    image = tmp_path / "digit.png"
    Image.fromarray(np.round(test.x[5, 0].numpy() * 255).astype("uint8")).save(image)
    out = tmp_path / "pictures"
    assert main(["inspect", str(run), "--input", str(image), "--out", str(out),
                 "--layer", "layers[3]"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["activations.png", "filters.png", "filters_layers.3.png", "input.png",
                     "prediction.json", "receptive_field.png", "saliency.png"]
    for name in names:
        if name.endswith(".png"):
            Image.open(out / name).verify()
    prediction = json.loads((out / "prediction.json").read_text())
    probs = prediction["probabilities"]
    assert sum(probs.values()) == pytest.approx(1, abs=1e-4)
    assert prediction["predicted"] == max(probs, key=probs.get)
    assert f"{image}: {prediction['predicted']}" in capsys.readouterr().out
    # only the chosen layer's maps: 12 maps of 4x4 and one title
    width, height = Image.open(out / "activations.png").size
    assert height < 200


def test_cnnkit_inspect_unknown_layer_lists_the_layers(run, tmp_path, capsys):
    test = load_dataset("digits", "test")
    image = tmp_path / "digit.png"
    Image.fromarray((test.x[0, 0].numpy() * 255).astype("uint8")).save(image)
    assert main(["inspect", str(run), "--input", str(image), "--layer", "conv2"]) == 2
    err = capsys.readouterr().err
    assert "layer 'conv2' is not a layer of Network" in err
    assert "Layers: layers.0, layers.1, layers.2, layers.3, layers.4, layers.5, layers.6" in err
    assert "Traceback" not in err
    assert main(["inspect", str(run), "--input", str(tmp_path / "missing.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_report_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_report_of_a_1d_network_draws_traces(tmp_path):
    spec = {"name": "seq", "input": [1, 40], "layers": [
        {"conv": {"filters": 4, "kernel": 5, "activation": "relu"}}, "global_maxpool",
        {"dense": 10}]}
    result = train_and_report(spec, "mnist1d", dict(epochs=1, progress=False, threads=1),
                              runs_root=tmp_path)
    page = (result.run_dir / "report" / "index.html").read_text()
    assert "confusion matrix" in page and "one trace per channel over time" in page
    count = json.loads((result.run_dir / "results.json").read_text())["test"]["count"]
    assert f"of {count} test samples correct" in page
    assert "activation maps of test sample 0" in page and "first-layer filters" in page
    assert "saliency of" not in page  # drawn for 2-D images only
