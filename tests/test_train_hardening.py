"""Training that would otherwise go wrong quietly: divergence, settings the optimiser ignores,
empty splits, damaged runs, the first log line after a resume, networks too large."""

import json

import pytest
import torch
import torch.nn as nn

from cnnkit import ArgumentError, SpecError, train_and_report
from cnnkit.runs import checkpoint as ckpt
from cnnkit.runs import read_metrics
from cnnkit.train import NothingToResume, TrainConfig, Trainer, TrainingDiverged
from cnnkit.train.api import train
from cnnkit.train.metrics import evaluate

TINY = {"name": "tiny", "input": [1, 8, 8],
        "layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten", {"dense": 10}]}
QUICK = {"epochs": 1, "progress": False, "threads": 1, "report": False}


def data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    return x, (x.mean((1, 2, 3)) > 0.5).long()


def trainer(run_dir=None, augment=None, **changes):
    torch.manual_seed(0)
    settings = dict(epochs=3, batch_size=20, lr=0.1, progress=False, checkpoint_every=3,
                    log_every=4)
    settings.update(changes)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    return Trainer(model, TrainConfig(**settings), data(), run_dir=run_dir, spec={"a": 1},
                   augment=augment)


def test_a_loss_growing_without_bound_stops_the_run():
    # A regression with a learning rate far too large: the loss grows by orders of magnitude
    # every step, staying finite for a long while (it would reach 1e20 before inf).
    torch.manual_seed(0)
    x = torch.randn(256, 1, 4, 4)
    y = x.flatten(1).sum(1, keepdim=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 1))
    config = TrainConfig(epochs=50, batch_size=32, lr=3.0, momentum=0.0, progress=False,
                         log_every=1, val_fraction=0)
    with pytest.raises(TrainingDiverged, match=r"the loss grew from [0-9.]+ \(first logged\) to "
                                               r"[0-9.e+]+ by step \d+ \(epoch \d+\): training "
                                               r"diverged and stopped\. Lower the learning rate "
                                               r"\(lr=3\)"):
        Trainer(model, config, (x, y), loss="euclidean").fit()


def test_a_falling_loss_is_no_divergence():
    result = trainer(epochs=2).fit()
    assert result.steps > 0


@pytest.mark.parametrize("settings, message", [
    ({"betas": (0.8, 0.99)}, r"config\.betas is a setting of adam and adamw; optimizer is 'sgd', "
                             r"which has no betas\. Received: betas=\[0\.8, 0\.99\], optimizer='sgd'"),
    ({"optimizer": "adam", "momentum": 0.5}, r"config\.momentum is a setting of sgd; optimizer is "
                                             r"'adam', which has none"),
    ({"optimizer": "adamw", "nesterov": True}, r"config\.nesterov is a setting of sgd"),
    ({"nesterov": True, "momentum": 0.0}, r"config\.nesterov needs momentum"),
    ({"betas": 0.9, "optimizer": "adam"}, r"config\.betas must be two numbers in \[0, 1\)"),
    ({"progress": "no"}, r"config\.progress must be true or false\. Received: progress='no' \(str\)"),
    ({"freeze": "layers.0.*"}, r"config\.freeze must be a list"),
    ({"penalty_multipliers": {"a": "x"}}, r"config\.penalty_multipliers must map"),
    ({"seed": -1}, r"config\.seed must be at least 0"),
])
def test_settings_the_optimiser_ignores_or_of_the_wrong_type_are_refused(settings, message):
    with pytest.raises((ArgumentError, TypeError), match=message):
        TrainConfig(**settings)


def test_adam_takes_betas():
    assert TrainConfig(optimizer="adam", betas=[0.8, 0.99]).betas == (0.8, 0.99)


def test_replace_names_the_closest_setting():
    with pytest.raises(SpecError, match=r"config\.learning_rate: unknown setting\. Did you mean 'lr'\?"):
        TrainConfig().replace(learning_rate=0.1)


def test_a_validation_split_of_nothing_is_refused():
    x, y = data(n=5)
    with pytest.raises(ArgumentError, match=r"config\.val_fraction 0\.05 of 5 training samples "
                                            r"leaves 0 for validation and 5 for training"):
        Trainer(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)),
                TrainConfig(val_fraction=0.05, batch_size=2, progress=False), (x, y))


def test_evaluating_on_no_samples_is_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with pytest.raises(ArgumentError, match=r"evaluate needs at least one sample"):
        evaluate(model, torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long),
                 nn.functional.cross_entropy)


def test_single_class_training_data_is_refused(tmp_path):
    from cnnkit.data import as_dataset

    x, _ = data()
    ones = as_dataset(x, [1] * len(x), num_classes=10)
    with pytest.raises(ArgumentError, match=r"training data has samples of one class only "
                                            r"\(label 1, 160 samples\): a classifier needs at least 2"):
        train(TINY, ones, QUICK, runs_root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_the_first_log_line_after_a_resume_averages_the_same_steps(tmp_path):
    # checkpoint_every=3, log_every=4: the run is stopped after the checkpoint at step 9,
    # two steps into the window of the log line at step 12.
    reference = trainer(tmp_path / "reference")
    reference.fit()
    expected = [r for r in read_metrics(tmp_path / "reference" / "metrics.jsonl")
                if r["split"] == "train"]

    calls = []

    def stop_at_step_11(x, generator):
        calls.append(1)
        if len(calls) == 11:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "run", augment=stop_at_step_11).fit()
    assert ckpt.load_latest(tmp_path / "run" / "checkpoints").state["step"] == 9
    trainer(tmp_path / "run", augment=lambda x, g: x).fit(resume=True)
    got = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["split"] == "train"]
    assert [r["step"] for r in got] == [r["step"] for r in expected]
    for a, b in zip(got, expected):
        assert (a["loss"], a["accuracy"]) == (b["loss"], b["accuracy"]), a["step"]


def test_resume_with_every_checkpoint_damaged_is_refused_and_changes_nothing(tmp_path):
    trainer(tmp_path / "run").fit()
    folder = tmp_path / "run" / "checkpoints"
    for blob in folder.glob("step-*.safetensors"):
        blob.write_bytes(b"\0" * 32)
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.warns(UserWarning, match=r"fails its checksum"):
        with pytest.raises(NothingToResume, match=r"cannot be resumed: every checkpoint is "
                                                  r"damaged \(2 found; newest: checkpoint .*"
                                                  r"step-00000027\.safetensors fails its checksum"):
            trainer(tmp_path / "run").fit(resume=True)
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == metrics


def test_resume_before_the_first_checkpoint_starts_the_log_again(tmp_path):
    run = tmp_path / "run"
    calls = []

    def stop_at_step_2(x, generator):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        trainer(run, augment=stop_at_step_2, log_every=1, checkpoint_every=50).fit()
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1]
    trainer(run, log_every=1, checkpoint_every=50).fit(resume=True)
    steps = [r["step"] for r in read_metrics(run / "metrics.jsonl") if r["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[0] == 1


def test_train_draws_no_report_and_train_and_report_does(tmp_path):
    plain = train(TINY, "digits", dict(QUICK, report=True), runs_root=tmp_path / "a")
    assert not (plain.run_dir / "report").exists()
    assert plain.model is not None and len(plain.test_set) == 359
    both = train_and_report(TINY, "digits", dict(QUICK, report=True), runs_root=tmp_path / "b")
    assert (both.run_dir / "report" / "index.html").is_file()
    off = train_and_report(TINY, "digits", dict(QUICK, report=False), runs_root=tmp_path / "c")
    assert not (off.run_dir / "report").exists()


def test_a_network_too_large_to_train_is_refused_before_it_is_built(tmp_path):
    from cnnkit._memory import available_memory

    units = available_memory() // 4 // 2 // 64  # weights: half the memory available
    spec = {"input": [1, 8, 8], "layers": ["flatten", {"dense": units}]}
    with pytest.raises(ArgumentError, match=rf"this network needs about [0-9.]+ GB \([0-9.]+ GB of "
                                            rf"weights for {64 * units + units:,} parameters"):
        train(spec, "digits", QUICK, runs_root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_resume_records_and_checks_data_identity(tmp_path):
    from cnnkit.data import as_dataset
    from cnnkit.train.api import resume

    x, y = data(n=300)
    first = as_dataset(x, y)
    result = train(TINY | {"layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten",
                                      {"dense": 2}]}, first, QUICK, runs_root=tmp_path)
    recorded = json.dumps(__import__("yaml").safe_load((result.run_dir / "config.yaml").read_text())["data"])
    assert '"kind": "memory"' in recorded and '"source": null' in recorded
    with pytest.raises(ArgumentError, match=r"was trained on data held in memory .* which it "
                                            r"cannot load again"):
        resume(result.run_dir)
    other = as_dataset(x.flip(0), y.flip(0))
    with pytest.raises(ArgumentError, match=r"this is not the data run .* was trained on: the run "
                                            r"recorded data held in memory \(sha256 "):
        resume(result.run_dir, data=other)
    again = resume(result.run_dir, data=first)
    assert again.steps == result.steps


def test_a_second_fit_into_the_same_run_folder_is_refused(tmp_path):
    trainer(tmp_path / "run").fit()
    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.raises(ArgumentError, match=r"already holds a run's checkpoints and metrics; a new "
                                            r"run there would mix with them\. .* Continue it with "
                                            r"fit\(resume=True\)"):
        trainer(tmp_path / "run").fit()
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == metrics
