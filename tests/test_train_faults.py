"""A run killed at any moment resumes to the same weights; faults keep the run readable."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from cnnkit.train import TrainConfig, Trainer, TrainingDiverged
from cnnkit.runs import checkpoint as ckpt
from cnnkit.train.metrics import MetricsLog

SCRIPT = Path(__file__).with_name("train_script.py")


def run_script(run_dir, resume=False, kill_after=None):
    """Run the training script; kill it with SIGKILL ``kill_after`` s after it starts training."""
    args = [sys.executable, str(SCRIPT), str(run_dir)] + (["--resume"] if resume else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "training":
        proc.wait()
        raise AssertionError(f"script failed: {line}{proc.stderr.read()}")
    if kill_after is None:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise AssertionError(err)
        return True
    time.sleep(kill_after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
    proc.communicate()
    return proc.returncode == 0


def final_weights(run_dir):
    latest = ckpt.load_latest(Path(run_dir) / "checkpoints")
    return latest.prefixed("model"), latest.state


def check_readable(run_dir):
    """Whatever moment the kill came at, the folder reads: checkpoints verify, log parses."""
    directory = Path(run_dir) / "checkpoints"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the newest checkpoint must verify, never need a fallback
        latest = ckpt.load_latest(directory)
    metrics = Path(run_dir) / "metrics.jsonl"
    if metrics.exists():
        MetricsLog(metrics).records()
    return latest


def test_sigkill_at_random_moments_then_resume_gives_identical_weights(tmp_path):
    reference = tmp_path / "reference"
    assert run_script(reference)
    expected, expected_state = final_weights(reference)

    rng = random.Random(1234)
    interrupted = tmp_path / "interrupted"
    kills = 0
    finished = run_script(interrupted, kill_after=rng.uniform(0.05, 0.6))
    while not finished:
        kills += 1
        check_readable(interrupted)
        if kills >= 4:
            finished = run_script(interrupted, resume=True)
        else:
            finished = run_script(interrupted, resume=True, kill_after=rng.uniform(0.05, 0.8))
    got, got_state = final_weights(interrupted)
    assert kills >= 1, "the run finished before any kill: the test did not test resuming"
    assert got_state["step"] == expected_state["step"]
    for name, tensor in expected.items():
        assert torch.equal(tensor, got[name]), name
    # The metrics log reads as one run: each train step logged once.
    steps = [r["step"] for r in MetricsLog(interrupted / "metrics.jsonl").records() if r["split"] == "train"]
    assert steps == sorted(set(steps))


def small_trainer(tmp_path, **changes):
    torch.manual_seed(0)
    x = torch.rand(200, 1, 8, 8)
    y = (x.mean((1, 2, 3)) > 0.5).long()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    settings = dict(epochs=3, batch_size=20, lr=0.1, progress=False, checkpoint_every=3)
    settings.update(changes)
    return Trainer(model, TrainConfig(**settings), (x, y), run_dir=tmp_path / "run",
                   spec={"a": 1})


def test_corrupt_checkpoint_falls_back_to_previous_good_one_and_says_so(tmp_path):
    trainer = small_trainer(tmp_path)
    trainer.fit()
    directory = tmp_path / "run" / "checkpoints"
    newest, previous = ckpt.find_checkpoints(directory)[:2]
    blob = newest.with_suffix(".safetensors")
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"fails its checksum .* damaged or half-written\. Falling back"):
        loaded = ckpt.load_latest(directory)
    assert loaded.state["step"] == json.loads(previous.read_text())["step"]


def test_truncated_checkpoint_is_reported_by_name(tmp_path):
    trainer = small_trainer(tmp_path)
    trainer.fit()
    newest = ckpt.find_checkpoints(tmp_path / "run" / "checkpoints")[0]
    newest.with_suffix(".safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(ckpt.CheckpointError, match=r"step-\d{8}\.safetensors fails its checksum"):
        ckpt.read_checkpoint(newest)


def test_nan_loss_stops_naming_the_step_and_keeps_last_good_checkpoint(tmp_path):
    trainer = small_trainer(tmp_path, log_every=1)
    calls = []

    def poison_from_step_8(x, generator):  # a data fault that shows up mid-run
        calls.append(1)
        return x * float("nan") if len(calls) >= 8 else x

    trainer.augment = poison_from_step_8
    with pytest.raises(TrainingDiverged, match=r"the loss became nan at step \d+ \(epoch \d\); training "
                                               r"stopped\. The last good checkpoint is .*step-\d{8}\.json\. "
                                               r"Lower the learning rate"):
        trainer.fit()
    # The checkpoints written before the fault still verify, and hold finite weights.
    latest = ckpt.load_latest(tmp_path / "run" / "checkpoints")
    assert latest.state["step"] == 6
    assert all(torch.isfinite(t).all() for t in latest.prefixed("model").values())


def test_resuming_with_a_changed_spec_is_refused(tmp_path):
    small_trainer(tmp_path).fit()
    changed = small_trainer(tmp_path)
    changed.spec = {"a": 2}
    with pytest.raises(Exception, match=r"the spec changed since this run's checkpoints were written"):
        changed.fit(resume=True)


def test_config_errors_name_the_setting():
    with pytest.raises(Exception, match=r"config\.learning_rate: unknown setting\. Did you mean 'lr'\?"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(Exception, match=r"config\.lr must be a positive number\. Received: lr=0"):
        TrainConfig(lr=0)
    with pytest.raises(Exception, match=r"config\.lr must be a positive number\. Received: lr=-0\.1"):
        TrainConfig(lr=-0.1)
    with pytest.raises(Exception, match=r"config\.epochs must be at least 1\. Received: epochs=0"):
        TrainConfig(epochs=0)
    with pytest.raises(Exception, match=r"config.optimizer must be one of 'sgd', 'adam', 'adamw'\. "
                                        r"Received: config.optimizer='adamm'\. Did you mean 'adam'\?"):
        TrainConfig(optimizer="adamm")
