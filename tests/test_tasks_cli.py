"""Every task through the command line on tiny data: train, eval, predict, export; the
statistics fitted on the training split at the network's front; the bad targets a user
can give, each refused in one line."""

import json
import re

import numpy as np
import pytest
import torch
import yaml

from cnnkit.cli.main import main

N, SIZE = 96, 12


def conv(filters, kernel=3, **more):
    return {"conv": {"filters": filters, "kernel": kernel, "padding": "same", **more}}


SPECS = {
    "classify": {"input": [1, SIZE, SIZE], "layers": [conv(8, activation="relu"), "global_avgpool",
                                                       {"dense": 2}]},
    "multilabel": {"input": [1, SIZE, SIZE], "layers": [conv(8, activation="relu"), "global_maxpool",
                                                         {"dense": 3}],
                   "loss": "sigmoid_cross_entropy"},
    "regress": {"input": [1, SIZE, SIZE], "layers": [conv(8, activation="relu"), "global_avgpool",
                                                      {"dense": 2}], "loss": "mse"},
    "segment": {"input": [1, SIZE, SIZE], "task": "segment",
                "layers": [conv(8, activation="relu"), conv(3, kernel=1)]},
    "reconstruct": {"input": [1, SIZE, SIZE], "task": "reconstruct",
                    "layers": [conv(8, activation="relu"), conv(1, activation="sigmoid")]},
    "detect": {"input": [1, SIZE, SIZE], "task": "detect",
               "layers": [conv(8, activation="relu"), {"maxpool": 4}, conv(12, kernel=1)],
               "loss": "yolo"},
}


def tiny(task, seed=0):
    """(x, y) of N samples for ``task``; the targets follow from the inputs."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(N, 1, SIZE, SIZE, generator=gen) * 4 + 10  # far from [0, 1]: standardised
    bright = (x > 12).long()
    level = x.mean((1, 2, 3))
    if task == "classify":
        y = (level > level.median()).long()
    elif task == "multilabel":
        y = torch.stack([(x[:, 0, :6].mean((1, 2)) > 12), (x[:, 0, 6:].mean((1, 2)) > 12),
                         level > 12], 1).float()
    elif task == "regress":
        y = torch.stack([level - 12, x[:, 0, :, :6].mean((1, 2)) - 12], 1)
    elif task == "segment":
        y = bright[:, 0] + (x[:, 0] > 13).long()
    elif task == "reconstruct":
        x = torch.rand(N, 1, SIZE, SIZE, generator=gen)
        y = torch.zeros(N, dtype=torch.long)
    else:  # one square per image, of class 0 or 1
        x = torch.zeros(N, 1, SIZE, SIZE)
        y = torch.full((N, 1, 5), -1.0)
        for i in range(N):
            w = int(torch.randint(3, 6, (1,), generator=gen))
            x0, y0 = (int(v) for v in torch.randint(0, SIZE - w + 1, (2,), generator=gen))
            k = i % 2
            x[i, 0, y0:y0 + w, x0:x0 + w] = 1.0 if k == 0 else 0.5
            y[i, 0] = torch.tensor([k, (x0 + w / 2) / SIZE, (y0 + w / 2) / SIZE, w / SIZE, w / SIZE])
    return x, y


def write(tmp_path, task, x=None, y=None, spec=None):
    if x is None:
        x, y = tiny(task)
    data = tmp_path / f"{task}.npz"
    np.savez(data, x=x.numpy(), y=y.numpy())
    path = tmp_path / f"{task}.yaml"
    path.write_text(yaml.safe_dump({"name": task, **(spec or SPECS[task])}))
    return path, data


def train(tmp_path, task, *extra):
    spec, data = write(tmp_path, task)
    status = main(["train", str(spec), "--data", str(data), "--epochs", "3", "--batch-size", "16",
                   "--optimizer", "adam", "--lr", "0.02", "--set", "progress=false",
                   "--set", "report=false", "--set", "threads=1", "--runs", str(tmp_path / "runs"),
                   *extra])
    assert status == 0
    (run,) = (tmp_path / "runs").iterdir()
    return run


MONITOR = {"classify": "accuracy", "multilabel": "mAP", "regress": "r2", "segment": "mean_iou",
           "reconstruct": "psnr", "detect": "mAP"}


@pytest.mark.parametrize("task", list(SPECS))
def test_every_task_trains_evaluates_predicts_and_exports(task, tmp_path, capsys):
    run = train(tmp_path, task)
    out = capsys.readouterr().out
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["task"]["name"] == task
    # the statistics of the training split (inputs around 12 here) sit at the front
    spec = yaml.safe_load((run / "spec.yaml").read_text())
    x, _ = tiny(task)
    assert spec["standardize"]["mean"] == pytest.approx(float(x.mean()), abs=0.2)
    results = json.loads((run / "results.json").read_text())
    assert MONITOR[task] in results["test"] and results["test"]["count"] in (19, 20)
    assert "test " + {"classify": "accuracy", "multilabel": "mAP", "regress": "R²", "segment": "mean IoU", "reconstruct": "PSNR", "detect": "mAP@0.5"}[task] in out
    assert MONITOR[task] in results["val"]
    # eval gives the recorded test metrics again
    assert main(["eval", str(run), "--which", "last", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again[MONITOR[task]] == pytest.approx(results["test"][MONITOR[task]], abs=1e-6)
    # predict on a .npy of two samples, in the terms of the task
    sample = tmp_path / "two.npy"
    np.save(sample, x[:2].numpy())
    assert main(["predict", str(run), str(sample), "--json", "--out", str(tmp_path / "pred")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all(line["task"] == task for line in lines)
    key = {"classify": "top", "multilabel": "labels", "regress": "values", "segment": "pixels",
           "reconstruct": "psnr", "detect": "boxes"}[task]
    assert key in lines[0]
    if task == "segment":
        assert sum(lines[0]["pixels"].values()) == SIZE * SIZE
        assert (tmp_path / "pred" / "two-mask.png").is_file() or lines[0].get("mask")


def test_export_carries_standardisation_and_metadata(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from cnnkit.export import read_metadata

    run = train(tmp_path, "segment")
    assert main(["export", str(run), "--out", str(tmp_path / "seg.onnx")]) == 0
    meta = read_metadata(tmp_path / "seg.onnx")
    assert meta["cnnkit.task"] == "segment"
    assert meta["cnnkit.task_settings"]["num_classes"] == 3
    assert meta["cnnkit.classes"] == ["0", "1", "2"]
    spec = yaml.safe_load((run / "spec.yaml").read_text())
    assert np.ravel(meta["cnnkit.standardize"]["mean"]).tolist() == \
        np.ravel(spec["standardize"]["mean"]).tolist()
    # the graph standardises itself: raw inputs in, the trained network's scores out
    import onnxruntime
    from cnnkit.runs import load_run_model

    x, _ = tiny("segment")
    session = onnxruntime.InferenceSession(str(tmp_path / "seg.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x[:3].numpy()})[0]
    with torch.no_grad():
        want = load_run_model(run)(x[:3]).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_standardize_off(tmp_path):
    run = train(tmp_path, "classify", "--set", "standardize=false")
    assert "standardize" not in yaml.safe_load((run / "spec.yaml").read_text())


def test_segmentation_learns_through_the_cli(tmp_path):
    # labels are thresholds of the pixel itself: a few epochs find them (mean IoU 0.9+ over
    # seeds 0-2 and with ATen's AVX2 kernels); without standardisation the inputs near 12
    # make this slow.
    run = train(tmp_path, "segment", "--epochs", "20")
    results = json.loads((run / "results.json").read_text())
    assert results["test"]["mean_iou"] > 0.7, results["test"]


def one_line(capsys, status):
    captured = capsys.readouterr()
    assert status == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def refused(tmp_path, capsys, task, x, y, spec=None):
    path, data = write(tmp_path, task, x, y, spec)
    status = main(["train", str(path), "--data", str(data), "--epochs", "1", "--set",
                   "progress=false", "--runs", str(tmp_path / "runs")])
    return one_line(capsys, status)


def test_target_shape_that_does_not_fit_the_output(tmp_path, capsys):
    x, y = tiny("segment")
    spec = {**SPECS["segment"], "layers": [conv(8, activation="relu"), {"maxpool": 2},
                                           conv(3, kernel=1)]}
    line = refused(tmp_path, capsys, "segment", x, y, spec)
    assert re.search(r"task 'segment': targets of shape \(\d+, 12, 12\) do not fit the network's "
                     r"output \(3, 6, 6\) per sample; this task needs targets \(N, 6, 6\)", line), line
    assert "Make the output 12x12" in line and "or resize the label maps to 6x6" in line


def test_mask_values_outside_the_classes(tmp_path, capsys):
    x, y = tiny("segment")
    y[5, 2, 3] = 7  # the network gives 3 class scores
    line = refused(tmp_path, capsys, "segment", x, y)
    assert "task 'segment': the data has 8 classes but the network gives 3 class scores. Make the " \
           "last layer give 8 outputs." in line, line
    # with the class names given, the label itself is named
    np.savez(tmp_path / "named.npz", x=x.numpy(), y=y.numpy(), classes=np.array(["a", "b", "c"]))
    status = main(["train", str(tmp_path / "segment.yaml"), "--data", str(tmp_path / "named.npz"),
                   "--epochs", "1", "--set", "progress=false", "--runs", str(tmp_path / "runs")])
    line = one_line(capsys, status)
    assert "y has the label 7 (in sample 5), outside the classes 0..2 and not the ignore value " \
           "255" in line, line


def test_boxes_outside_the_image_and_of_no_size(tmp_path, capsys):
    x, y = tiny("detect")
    y[3, 0, 1:] = torch.tensor([0.9, 0.5, 0.4, 0.2])
    line = refused(tmp_path, capsys, "detect", x, y)
    assert "outside the image" in line and "0.9, 0.5, 0.4, 0.2" in line, line
    x, y = tiny("detect")
    y[4, 0, 3] = 0.0
    line = refused(tmp_path, capsys, "detect", x, y)
    assert "size" in line and "positive" in line, line


def test_nan_targets(tmp_path, capsys):
    x, y = tiny("regress")
    y[7, 1] = float("nan")
    line = refused(tmp_path, capsys, "regress", x, y)
    assert "NaN" in line and "sample 7" in line, line


def test_task_that_does_not_fit_the_loss(tmp_path, capsys):
    x, y = tiny("regress")
    spec = {**SPECS["regress"], "task": "regress", "loss": "softmax_cross_entropy"}
    line = refused(tmp_path, capsys, "regress", x, y, spec)
    assert "loss: loss 'softmax_cross_entropy' does not fit task 'regress'. Received: " \
           "loss='softmax_cross_entropy', task='regress'. Use loss: euclidean or mse or smooth_l1" \
           in line, line


def test_empty_annotation_files(tmp_path, capsys):
    folder = tmp_path / "boxes"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    from PIL import Image
    for i in range(4):
        Image.fromarray(np.zeros((12, 12), np.uint8)).save(folder / "images" / f"{i}.png")
        (folder / "labels" / f"{i}.txt").write_text("")
    path, _ = write(tmp_path, "detect")
    status = main(["train", str(path), "--data", str(folder), "--epochs", "1", "--set",
                   "progress=false", "--runs", str(tmp_path / "runs")])
    line = one_line(capsys, status)
    assert "task 'detect': the targets hold no box at all" in line, line
    assert "an empty label file is an image without objects" in line


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_augmentation_that_would_misalign_the_targets_is_refused(task, tmp_path, capsys):
    # Translate moves the image only: the label maps or boxes would no longer fit it.
    path, data = write(tmp_path, task)
    status = main(["train", str(path), "--data", str(data), "--epochs", "1", "--set",
                   "progress=false", "--set", "augment=[{translate: 2}]",
                   "--runs", str(tmp_path / "runs")])
    line = one_line(capsys, status)
    assert re.search(rf"augment moves the inputs only, and task '{task}' has targets that are "
                     r"positions in the input \(label maps or boxes\), which would no longer "
                     r"fit\. Received: augment=\[\{'translate': 2\}\]\. Leave augment out", line), line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
