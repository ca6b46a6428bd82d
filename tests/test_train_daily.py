"""The everyday path: one weights policy, epoch lines, the user's splits, open helpers,
callbacks and the command line's rough edges. Small data, seconds per test."""

import io
import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from cnnkit._validation import ArgumentTypeError

from cnnkit.cli.main import build_parser, main
from cnnkit.data.splits import folder_layout, load_splits
from cnnkit.runs.weights import default_weights, resolve_weights, warn_small_validation
from cnnkit.train import (CSVLogger, Callback, EarlyStopping, LambdaCallback, ModelCheckpoint,
                          TrainConfig, Trainer)
from cnnkit.train.api import resume, train
from cnnkit.train.callbacks import CallbackList
from cnnkit.train.metrics import evaluate
from cnnkit.train.progress import EpochPrinter, format_epoch

SPEC = """
name: colours
input: [3, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: same, activation: relu}
  - global_avgpool
  - dense: 3
loss: softmax_cross_entropy
"""
QUICK = dict(lr=0.1, threads=1, report=False, progress=False)
COLOURS = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}


def _images(folder, per_class, seed=0, classes=COLOURS):
    rng = np.random.default_rng(seed)
    for name, colour in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            noise = rng.integers(-40, 40, size=(8, 8, 3))
            pixels = np.clip(np.array(colour) + noise, 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / name / f"{k}.png")
    return folder


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    root = tmp_path_factory.mktemp("daily")
    (root / "spec.yaml").write_text(SPEC)
    _images(root / "photos", 20)
    return root


@pytest.fixture(scope="module")
def run(colours):
    result = train(str(colours / "spec.yaml"), str(colours / "photos"),
                   dict(epochs=3, batch_size=8, **QUICK), runs_root=colours / "runs")
    return result


# ------------------------------------------------------------------ 1. weights
def test_train_records_which_weights_its_test_figure_used(run):
    results = json.loads((run.run_dir / "results.json").read_text())
    assert results["weights"] == "last" == default_weights(run.run_dir) == run.weights
    best = json.loads((run.run_dir / "checkpoints" / "best.json").read_text())
    # One epoch numbering: best.json and results.json agree (from 1).
    assert best["epoch"] == results["best_epoch"]
    assert 1 <= best["epoch"] <= 3


def test_eval_reproduces_the_figure_train_printed(run, capsys):
    assert main(["eval", str(run.run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["weights"] == "last"
    assert metrics["accuracy"] == pytest.approx(run.test["accuracy"], abs=0)
    assert metrics["loss"] == pytest.approx(run.test["loss"], rel=1e-6)
    assert main(["eval", str(run.run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("weights: last (epoch 3, step 18, the run's default)\n")
    assert f"accuracy {100 * run.test['accuracy']:.2f}%" in out


def test_every_run_command_takes_weights_best_or_last():
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    for command in ("eval", "predict", "export", "inspect", "report", "serve"):
        text = sub.choices[command].format_help()
        assert "--weights {best,last}" in text, command


def test_best_weights_name_their_epoch_and_warn_on_a_small_validation_split(run, capsys):
    assert main(["eval", str(run.run_dir), "--weights", "best"]) == 0
    out, err = capsys.readouterr()
    assert ("cnnkit eval: warning: the best weights were chosen on 5 validation samples: one "
            "sample moves accuracy by 20.0 points, so the best epoch may be chance.") in err
    choice = resolve_weights(run.run_dir, "best")
    assert choice.which == "best" and choice.requested == "best" and choice.val_count == 5
    assert out.startswith(f"weights: best (epoch {choice.epoch}, step {choice.step}, asked for)")


def test_unknown_weights_are_refused_with_both_choices():
    with pytest.raises(ValueError, match=r"which must be 'best' or 'last'\. Received: "
                                         r"which='newest'\. best: the epoch"):
        resolve_weights("anything", "newest")


def test_early_stopping_makes_best_the_default_everywhere(colours):
    with pytest.warns(UserWarning, match="the best weights were chosen on 5 validation samples"):
        result = train(str(colours / "spec.yaml"), str(colours / "photos"),
                       dict(epochs=2, batch_size=8, early_stopping=True, patience=1, **QUICK),
                       runs_root=colours / "runs-es")
    assert result.weights == "best" == default_weights(result.run_dir)
    warn_small_validation(500)  # enough samples: silent (an error under -W error)


# ----------------------------------------------------------- 2. epoch lines
def test_epoch_line_is_keras_like():
    line = format_epoch({"epoch": 2, "seconds": 0.54, "loss": 0.5, "accuracy": 0.75,
                         "val_loss": 0.625, "val_accuracy": 0.5, "lr": 0.1, "step": 9}, 5)
    assert line == ("epoch 2/5 - 0.5s - loss 0.5000 - accuracy 0.7500 - val_loss 0.6250 - "
                    "val_accuracy 0.5000 - lr 0.1")


def test_one_readable_line_per_epoch_when_not_a_terminal(capsys, tmp_path):
    x = torch.randn(40, 1, 4, 4)
    y = (x.mean((1, 2, 3)) > 0).long()
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    Trainer(model, TrainConfig(epochs=3, batch_size=8, val_fraction=0.25, threads=1), (x, y),
            run_dir=tmp_path / "r").fit()
    err = capsys.readouterr().err
    assert "\r" not in err  # no bar redrawn into a log
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split(" - ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all(" - loss " in line and " - val_accuracy " in line for line in lines)
    assert (tmp_path / "r" / "train.log").read_text().splitlines() == lines
    history = (tmp_path / "r" / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,step,val_loss,val_accuracy") and len(history) == 4


def test_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert EpochPrinter(2, stream=Tty()).bar_enabled
    assert not EpochPrinter(2, stream=io.StringIO()).bar_enabled
    assert not EpochPrinter(2, bar=False, stream=Tty()).bar_enabled


def test_quiet_prints_no_epoch_lines(capsys):
    x, y = torch.randn(16, 1, 2, 2), torch.arange(16) % 2
    Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
            TrainConfig(epochs=2, batch_size=8, val_fraction=0, quiet=True, threads=1), (x, y)).fit()
    assert "epoch " not in capsys.readouterr().err


# ------------------------------------------------------ 3. splits and batches
def test_train_val_test_folders_are_the_split(tmp_path):
    _images(tmp_path / "set" / "train", 6)
    _images(tmp_path / "set" / "valid", 2, seed=1, classes={"blue": COLOURS["blue"],
                                                            "red": COLOURS["red"]})
    _images(tmp_path / "set" / "test", 3, seed=2)
    assert sorted(k for k, v in folder_layout(tmp_path / "set").items() if v) == ["test", "train", "val"]
    train_set, val_set, test_set = load_splits(str(tmp_path / "set"), (3, 8, 8))
    assert (len(train_set), len(val_set), len(test_set)) == (18, 4, 9)
    # val/ has two of the three classes: its labels are the training ones, by name.
    assert val_set.classes == train_set.classes == ("blue", "green", "red")
    assert sorted(set(val_set.y.tolist())) == [0, 2]


def test_a_split_with_a_class_the_training_data_lacks_is_refused(tmp_path):
    _images(tmp_path / "train", 3)
    _images(tmp_path / "test", 1, classes={"purple": (128, 0, 128), "red": COLOURS["red"]})
    with pytest.raises(ValueError, match=r"test_data has class\(es\) 'purple' that the training "
                                         r"data lacks \(training classes: blue, green, red\)"):
        load_splits(str(tmp_path / "train"), (3, 8, 8), test_data=str(tmp_path / "test"))


def test_fractions_and_separate_data_from_the_command_line(colours, tmp_path, capsys):
    _images(tmp_path / "val", 4, seed=3)
    argv = ["train", str(colours / "spec.yaml"), "--data", str(colours / "photos"), "--epochs", "1",
            "--test-fraction", "0.3", "--val-data", str(tmp_path / "val"), "--runs",
            str(tmp_path / "runs"), "--set", "threads=1", "--set", "report=false"]
    assert main(argv) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["test"]["count"] == 18 and results["val_count"] == 12
    assert "with the last weights (epoch 1)" in capsys.readouterr().out
    assert main(["eval", str(run_dir), "--json"]) == 0  # the same splits again
    assert json.loads(capsys.readouterr().out)["count"] == 18


def test_the_last_partial_batch_is_trained():
    x, y = torch.randn(50, 1, 2, 2), torch.arange(50) % 2
    trainer = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
                      TrainConfig(epochs=2, batch_size=16, val_fraction=0, quiet=True), (x, y))
    assert trainer.fit().steps == 8  # 16 + 16 + 16 + 2, twice


def test_a_batch_larger_than_the_data_is_clamped_with_a_notice():
    x, y = torch.randn(20, 1, 2, 2), torch.arange(20) % 2
    with pytest.warns(UserWarning, match=r"batch_size 64 is larger than the 20 training samples: "
                                         r"each step trains on all 20\."):
        trainer = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
                          TrainConfig(epochs=1, val_fraction=0, quiet=True), (x, y))
    assert trainer.fit().steps == 1


def test_top_k_only_below_the_number_of_classes():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.randn(10, 1, 2, 2), torch.arange(10) % 3
    loss = nn.functional.cross_entropy
    assert "top5_accuracy" not in evaluate(model, x, y, loss, topk=5)
    assert "top2_accuracy" in evaluate(model, x, y, loss, topk=2)


# --------------------------------------------------------- 4. open helpers
def test_train_takes_a_plain_module_and_numpy_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((60, 1, 4, 4), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    result = train(model, (x, y), dict(epochs=2, batch_size=16, **QUICK), runs_root=tmp_path)
    assert result.model is model and result.test["count"] == 12
    assert (result.run_dir / "results.json").is_file()
    assert not (result.run_dir / "spec.yaml").exists()


def test_trainer_takes_a_dataloader_for_training_and_validation():
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.randn(48, 1, 4, 4)
    y = (x.mean((1, 2, 3)) > 0).long()
    loader = DataLoader(TensorDataset(x[:40], y[:40]), batch_size=8, shuffle=True)
    val = DataLoader(TensorDataset(x[40:], y[40:]), batch_size=4)
    result = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)),
                     TrainConfig(epochs=3, val_fraction=0, quiet=True), loader, val).fit()
    assert result.steps == 15 and result.val["count"] == 8
    assert [r["epoch"] for r in result.history] == [1, 2, 3]


def test_batches_from_a_generator_function_and_a_bad_batch():
    x, y = torch.randn(8, 1, 2, 2), torch.arange(8) % 2
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    result = Trainer(model, TrainConfig(epochs=2, val_fraction=0, quiet=True),
                     lambda: iter([(x[:4], y[:4]), (x[4:], y[4:])])).fit()
    assert result.steps == 4
    with pytest.raises(TypeError, match=r"batch 0 of the training data is not an \(x, y\) pair\. "
                                        r"Received: tuple of 3"):
        Trainer(model, TrainConfig(epochs=1, val_fraction=0, quiet=True),
                [(x, y, y)]).fit()


def test_a_schedule_needs_batches_with_a_length():
    x, y = torch.randn(8, 1, 2, 2), torch.arange(8) % 2
    with pytest.raises(ValueError, match=r"config\.schedule 'cosine' \(and warm-up\) needs the "
                                         r"number of batches per epoch"):
        Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
                TrainConfig(epochs=1, val_fraction=0, schedule="cosine", quiet=True),
                lambda: iter([(x, y)]))


def test_callbacks_see_steps_epochs_and_checkpoints(tmp_path):
    seen = {"steps": 0, "epochs": [], "checkpoints": []}
    spy = LambdaCallback(
        on_step=lambda t, logs: seen.__setitem__("steps", seen["steps"] + 1),
        on_epoch_end=lambda t, logs: seen["epochs"].append(sorted(logs)),
        on_checkpoint=lambda t, path, kind: seen["checkpoints"].append((path.name, kind)))
    x, y = torch.randn(32, 1, 2, 2), torch.arange(32) % 2
    csv_file = tmp_path / "log.csv"
    saver = ModelCheckpoint(tmp_path / "saved", every=2)
    Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
            TrainConfig(epochs=2, batch_size=8, val_fraction=0.25, quiet=True), (x, y),
            run_dir=tmp_path / "run", callbacks=[spy, CSVLogger(csv_file), saver]).fit()
    assert seen["steps"] == 6
    assert seen["epochs"][0] == ["accuracy", "epoch", "loss", "lr", "seconds", "step",
                                 "val_accuracy", "val_loss"]
    assert ("step-00000003.json", "step") in seen["checkpoints"]
    assert ("epoch-0002.json", "callback") in seen["checkpoints"]
    rows = csv_file.read_text().splitlines()
    assert rows[0].startswith("epoch,step,") and len(rows) == 3
    assert [p.name for p in saver.saved] == ["epoch-0002.json"]


def test_early_stopping_as_a_callback_stops_training():
    x, y = torch.randn(32, 1, 2, 2), torch.arange(32) % 2
    # "epoch" only grows, so with mode="min" no epoch after the first improves.
    stop = EarlyStopping(monitor="epoch", mode="min", patience=1)
    result = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
                     TrainConfig(epochs=10, batch_size=8, val_fraction=0, quiet=True), (x, y),
                     callbacks=[stop]).fit()
    assert result.epochs_run == 2 and stop.best_epoch == 1


def test_callback_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"LambdaCallback has no hook 'on_epoch'\. Did you mean "
                                         r"'on_epoch_end'\?"):
        LambdaCallback(on_epoch=print)
    with pytest.raises(TypeError, match=r"callbacks\[1\] has none of the hooks .* Received: int\. "
                                        r"Subclass cnnkit\.train\.Callback\."):
        CallbackList([Callback(), 3])
    with pytest.raises(ValueError, match=r"patience must be an int of at least 1\. Received: "
                                         r"patience=0\."):
        EarlyStopping(patience=0)
    x, y = torch.randn(8, 1, 2, 2), torch.arange(8) % 2
    with pytest.raises(ValueError, match=r"EarlyStopping monitors 'val_loss', which the epoch "
                                         r"record does not hold\."):
        Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)),
                TrainConfig(epochs=2, val_fraction=0, quiet=True), (x, y),
                callbacks=[EarlyStopping()]).fit()


# ------------------------------------------------------------- 5. the CLI
@pytest.mark.parametrize("item, expected", [
    ("learning_rate=0.1", r"--set learning_rate=0\.1: 'learning_rate' is not a training "
                          r"setting\. Did you mean 'lr' \(--lr\)\? Settings: epochs,"),
    ("nosuch=1", r"--set nosuch=1: 'nosuch' is not a training setting\. Settings: epochs,"),
    ("patiense=3", r"--set patiense=3: 'patiense' is not a training setting\. Did you mean "
                   r"'patience'\? Settings:"),
])
def test_set_names_the_closest_setting_and_its_flag(colours, capsys, item, expected):
    assert main(["train", str(colours / "spec.yaml"), "--data", "digits", "--set", item]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnkit train: error: ") and "Traceback" not in err
    import re

    assert re.search(expected, err), err


def test_help_shows_defaults():
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    text = " ".join(sub.choices["train"].format_help().split())
    assert "--epochs EPOCHS passes over the training set (default: 10)" in text
    assert "--val-fraction VAL_FRACTION share of the training set held out for validation (default: 0.1)" in text
    assert "(default: 3)" in sub.choices["predict"].format_help()


def test_predict_a_folder_as_json(run, colours, capsys):
    assert main(["predict", str(run.run_dir), str(colours / "photos" / "red"), "--json",
                 "--top", "2"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 20 and all(len(r["top"]) == 2 and r["weights"] == "last" for r in rows)
    assert rows[0]["file"].endswith("0.png") and err == ""


def test_predict_an_empty_folder_says_so(run, tmp_path, capsys):
    assert main(["predict", str(run.run_dir), str(tmp_path)]) == 2
    assert f"folder {str(tmp_path)!r} holds no images (.bmp" in capsys.readouterr().err


def test_experiment_without_a_name_lists_them(capsys):
    assert main(["experiment"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("unsupervised_filters  Random, hand-designed (Gabor) and k-means")
               for line in out.splitlines())


def test_resume_honours_more_epochs_and_refuses_changed_settings(colours, tmp_path, capsys):
    result = train(str(colours / "spec.yaml"), str(colours / "photos"),
                   dict(epochs=1, batch_size=8, **QUICK), runs_root=tmp_path)
    run_dir = str(result.run_dir)
    assert main(["train", "--resume", run_dir, "--epochs", "2", "--lr", "1000"]) == 2
    assert ("--lr 1000.0 would change lr from 0.1. Received: --resume "
            f"{run_dir} --lr 1000.0. Only --epochs may grow") in capsys.readouterr().err
    assert main(["train", "--resume", run_dir, "--epochs", "2", "--lr", "0.1"]) == 0
    assert json.loads((result.run_dir / "results.json").read_text())["epochs"] == 2
    assert "epoch 2/2 - " in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"can train more epochs, not fewer: the run is set to 2"):
        resume(run_dir, epochs=1)
    with pytest.raises(ValueError, match=r"batch_size=4 would change batch_size from 8"):
        resume(run_dir, batch_size=4)


def test_python_only_hints_name_what_a_cli_user_can_do(tmp_path, colours, capsys):
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 3, 8, 8), np.float32), labels=np.arange(4) % 2)
    assert main(["train", str(colours / "spec.yaml"), "--data", str(tmp_path / "bad.npz")]) == 2
    err = capsys.readouterr().err
    assert "Save the samples under the name x (np.savez(file, x=..., y=...))" in err
    assert "Pass x_key" not in err


def test_no_warning_escapes_as_an_error(run):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_weights(run.run_dir).which == "last"


def test_shuffle_false_trains_on_the_datas_order_as_a_plain_loop_does():
    torch.manual_seed(0)
    x, y = torch.randn(40, 1, 2, 2), torch.arange(40) % 3
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    plain = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    plain.load_state_dict(start)
    Trainer(model, TrainConfig(epochs=2, batch_size=16, val_fraction=0, shuffle=False, lr=0.1,
                               momentum=0.0, quiet=True, threads=1), (x, y)).fit()
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1)
    for _ in range(2):
        for first in range(0, 40, 16):          # batches 0-15, 16-31, 32-39, every epoch
            loss = nn.functional.cross_entropy(plain(x[first:first + 16]), y[first:first + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for a, b in zip(model.parameters(), plain.parameters()):
        torch.testing.assert_close(a, b)
    # Shuffled (the default), the same start ends elsewhere.
    shuffled = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    shuffled.load_state_dict(start)
    Trainer(shuffled, TrainConfig(epochs=2, batch_size=16, val_fraction=0, lr=0.1, momentum=0.0,
                                  quiet=True, threads=1), (x, y)).fit()
    assert not torch.allclose(shuffled[1].weight, plain[1].weight)
    with pytest.raises(ArgumentTypeError, match=r"config\.shuffle must be true or false\. "
                                                r"Received: shuffle='no'"):
        TrainConfig(shuffle="no")
