"""The `cnnkit` command against misuse: every case ends in one line that names what is wrong
(with the flag a user typed) and the fix, never in a traceback, a silent mix of two runs,
or a run on other data than the one recorded.

Cases that need no set-up beyond a few text files are entries of the hostile corpus
(tests/hostile/cli, data, run_folders); these need a trained run, a second process, binary
data files or a fault injected."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnnkit.cli.main import main
from cnnkit.data import load_dataset

SPEC = """
name: tiny
input: [1, 8, 8]
layers:
  - conv: {filters: 4, kernel: 3, padding: same, activation: relu}
  - maxpool: 2
  - flatten
  - dense: 10
"""
FAST = ["--epochs", "1", "--set", "progress=false", "--set", "threads=1", "--set", "report=false"]


def one_error_line(capsys, status, expected_status=2):
    captured = capsys.readouterr()
    assert status == expected_status, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished run on the bundled digits."""
    root = tmp_path_factory.mktemp("finished")
    (root / "tiny.yaml").write_text(SPEC)
    assert main(["train", str(root / "tiny.yaml"), "--data", "digits", *FAST,
                 "--runs", str(root / "runs")]) == 0
    (run,) = (root / "runs").iterdir()
    return run


def copy_run(run: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(run, dest)
    return dest


def digits_npz(path: Path, n=None, x=None, y=None) -> Path:
    every = load_dataset("digits", "all")
    xs = every.x.numpy() if x is None else x
    ys = every.y.numpy() if y is None else y
    if n is not None:
        xs, ys = xs[:n], ys[:n]
    np.savez(path, x=xs, y=ys)
    return path


# ---------------------------------------------------------------- where runs are written


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/cnnkit-absolute-escape"])
def test_a_spec_name_never_leaves_the_runs_folder(tmp_path, name, capsys):
    spec = tmp_path / "evil.yaml"
    spec.write_text(SPEC.replace("name: tiny", f"name: {name}"))
    runs = tmp_path / "a" / "b" / "runs"
    assert main(["train", str(spec), "--data", "digits", *FAST, "--runs", str(runs)]) == 0
    (run,) = runs.iterdir()
    assert run.parent == runs and (run / "spec.yaml").is_file()
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "a" / "escaped").exists()
    assert not list(Path("/tmp").glob("cnnkit-absolute-escape-*"))


def test_run_dir_into_a_finished_run_is_refused_with_the_fix(finished, spec, capsys):
    before = (finished / "metrics.jsonl").read_text()
    status = main(["train", str(spec), "--data", "digits", *FAST, "--run-dir", str(finished)])
    line = one_error_line(capsys, status)
    assert f"--run-dir '{finished}' already holds a run (checkpoints, config.yaml" in line
    assert f"Continue that run with `cnnkit train --resume {finished}`" in line
    assert "or give a new or empty folder" in line
    assert (finished / "metrics.jsonl").read_text() == before


def test_run_dir_that_is_new_or_empty_is_used(spec, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", str(spec), "--data", "digits", *FAST, "--run-dir", str(empty)]) == 0
    assert (empty / "results.json").is_file() and not (empty / ".lock").exists()


# ---------------------------------------------------------------- the data a run is on


def test_relative_data_path_is_recorded_absolutely_and_eval_elsewhere_uses_it(tmp_path, spec,
                                                                              monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    digits_npz(work / "digits.npz")
    monkeypatch.chdir(work)
    assert main(["train", str(spec), "--data", "digits.npz", *FAST, "--runs", "runs"]) == 0
    (run,) = (work / "runs").iterdir()
    data = yaml.safe_load((run / "config.yaml").read_text())["data"]
    assert data["source"] == str(work / "digits.npz") and data["source_as_given"] == "digits.npz"
    assert data["identity"]["kind"] == "file" and len(data["identity"]["sha256"]) == 64
    # From another directory, where a different digits.npz lies: eval uses the run's file.
    other = tmp_path / "other"
    other.mkdir()
    digits_npz(other / "digits.npz", n=100)
    monkeypatch.chdir(other)
    capsys.readouterr()
    assert main(["eval", str(run), "--which", "last", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["count"] == json.loads((run / "results.json").read_text())["test"]["count"] > 100


def test_resume_with_other_data_is_refused_naming_both(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    other = digits_npz(tmp_path / "other.npz")
    status = main(["train", "--resume", str(run), "--data", str(other)])
    line = one_error_line(capsys, status)
    assert (f"this is not the data run {run} was trained on: the run recorded bundled data set "
            f"'digits' (sha256 489ea20681f9...), but --data {other} is file {other} (sha256 ") in line
    assert "Use the run's own data, or train a new run on this data." in line


def test_eval_refuses_a_data_file_that_changed_since_training(tmp_path, spec, capsys):
    data = digits_npz(tmp_path / "d.npz")
    assert main(["train", str(spec), "--data", str(data), *FAST, "--runs", str(tmp_path / "r")]) == 0
    (run,) = (tmp_path / "r").iterdir()
    digits_npz(data, n=400)  # the same path, other content
    capsys.readouterr()
    line = one_error_line(capsys, main(["eval", str(run)]))
    assert f"the data changed since run {run} was trained on it: the run recorded file {data}" in line
    # the other resume: same refusal
    line = one_error_line(capsys, main(["train", "--resume", str(run)]))
    assert "the data changed since run" in line


def test_nan_in_data_names_the_sample(tmp_path, spec, capsys):
    every = load_dataset("digits", "all")
    x = every.x.numpy().copy()
    x[7, 0, 3, 3] = np.nan
    data = digits_npz(tmp_path / "nan.npz", x=x)
    status = main(["train", str(spec), "--data", str(data), *FAST, "--runs", str(tmp_path / "r")])
    line = one_error_line(capsys, status)
    assert f"{data}: x has 1 NaN or infinite values (first in sample 7)" in line
    assert "[nan, nan]" not in line


# ---------------------------------------------------------------- one writer per run


HOLDER = textwrap.dedent("""
    import sys, time
    from cnnkit.runs import lock_run
    with lock_run(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
""")


def test_a_run_in_use_by_another_process_is_refused_naming_its_pid(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(Path.cwd())))
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = (run / "metrics.jsonl").read_text()
        line = one_error_line(capsys, main(["train", "--resume", str(run)]))
        assert line == (f"cnnkit train: error: run folder {run.resolve()} is in use by process "
                        f"{holder.pid}, which is writing it. Wait for it to finish (or stop it), "
                        f"or train into another folder.")
        assert (run / "metrics.jsonl").read_text() == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without releasing: its lock file is stale and is taken over.
    assert (run / ".lock").exists()
    assert main(["train", "--resume", str(run)]) == 0
    err = capsys.readouterr().err
    assert f"warning: run folder {run.resolve()} had a lock of process {holder.pid}" in err
    assert "which no longer runs; it is taken over" in err
    assert not (run / ".lock").exists()


# ---------------------------------------------------------------- resuming


def test_resume_when_every_checkpoint_is_damaged_is_refused(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    for blob in (run / "checkpoints").glob("step-*.safetensors"):
        blob.write_bytes(b"\0" * 64)
    before = (run / "metrics.jsonl").read_text()
    status = main(["train", "--resume", str(run)])
    captured = capsys.readouterr()
    assert status == 2 and "Traceback" not in captured.err
    error = [l for l in captured.err.splitlines() if ": error: " in l]
    assert len(error) == 1
    assert (f"run {run} cannot be resumed: every checkpoint is damaged (1 found; newest: "
            f"checkpoint {run}/checkpoints/step-") in error[0]
    assert "Start a new run from its spec.yaml" in error[0]
    assert (run / "metrics.jsonl").read_text() == before


def test_resume_with_settings_that_would_change_the_run_is_refused(finished, capsys):
    line = one_error_line(capsys, main(["train", "--resume", str(finished), "--epochs", "5",
                                        "--lr", "1000"]))
    assert "--resume continues a run with the settings it recorded; --lr 1000.0 would change lr" in line
    assert "Only --epochs may grow" in line
    line = one_error_line(capsys, main(["train", "--resume", str(finished), "--name", "x"]))
    assert "--resume continues a run with the settings it recorded; --name would change them" in line


def test_crafted_checkpoint_path_is_refused(finished, tmp_path, capsys):
    run = copy_run(finished, tmp_path / "run")
    for json_path in (run / "checkpoints").glob("*.json"):
        state = json.loads(json_path.read_text())
        state["tensors_file"] = "../../../../etc/passwd"
        json_path.write_text(json.dumps(state))
    status = main(["eval", str(run)])
    captured = capsys.readouterr()
    assert status == 2 and "Traceback" not in captured.err
    assert ("names tensors_file='../../../../etc/passwd', which is not a plain .safetensors file "
            "name in") in captured.err


def test_wrong_shape_tensor_under_a_valid_checksum_is_named(finished, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file, save_file

    from cnnkit.runs.checkpoint import sha256_file

    run = copy_run(finished, tmp_path / "run")
    for json_path in (run / "checkpoints").glob("*.json"):
        blob = json_path.with_suffix(".safetensors")
        tensors = load_file(str(blob))
        tensors["model.layers.0.weight"] = torch.zeros(5, 1, 3, 3)
        save_file(tensors, str(blob))
        state = json.loads(json_path.read_text())
        state["sha256"] = sha256_file(blob)
        json_path.write_text(json.dumps(state))
    line = one_error_line(capsys, main(["eval", str(run), "--which", "last"]))
    assert ("holds layers.0.weight of shape (5, 1, 3, 3), but the network's layers.0.weight has "
            "shape (4, 1, 3, 3)") in line


# ---------------------------------------------------------------- sizes


def test_a_network_too_large_to_train_is_refused_before_allocating(tmp_path, capsys):
    from cnnkit._memory import available_memory

    # Weights of half the memory available: the network could be built, but training needs
    # three times its weights (gradients, momentum). This used to go straight to allocation.
    units = available_memory() // 4 // 2 // 64
    spec = tmp_path / "big.yaml"
    spec.write_text(f"name: big\ninput: [1, 8, 8]\nlayers:\n  - flatten\n  - dense: {units}\n")
    started = time.perf_counter()
    line = one_error_line(capsys, main(["train", str(spec), "--data", "digits",
                                        "--runs", str(tmp_path / "r")]))
    assert time.perf_counter() - started < 30
    assert re.match(r"cnnkit train: error: this network needs about [0-9.]+ GB \([0-9.]+ GB of "
                    r"weights for [0-9,]+ parameters, [0-9.]+ GB of gradients and optimiser "
                    r"state, [0-9.]+ [kMG]B of activations for a batch of 64\) to train, but "
                    r"[0-9.]+ GB of memory is available here\. layers\[1\] alone holds [0-9,]+ "
                    r"parameters", line), line
    assert not (tmp_path / "r").exists()


def test_a_network_larger_than_the_machine_is_refused_by_the_spec(tmp_path, capsys):
    spec = tmp_path / "huge.yaml"
    spec.write_text("name: huge\ninput: [3, 512, 512]\nlayers:\n  - flatten\n"
                    "  - dense: 100000000\n")  # 78.6 T parameters: 315 TB of weights
    line = one_error_line(capsys, main(["train", str(spec), "--data", "digits",
                                        "--runs", str(tmp_path / "r")]))
    assert "layers[1]: the network has 78,643,300,000,000 parameters" in line
    assert not (tmp_path / "r").exists()
    # summary reads it (nothing is allocated) and warns
    assert main(["summary", str(spec)]) == 0
    captured = capsys.readouterr()
    assert "78,643,300,000,000" in captured.out
    warning = [l for l in captured.err.splitlines() if "warning" in l]
    assert len(warning) == 1 and warning[0].startswith(
        "cnnkit summary: warning: huge has 78,643,300,000,000 parameters, 314.6 TB of float32 "
        "weights: more than the ")


# ---------------------------------------------------------------- processes


def test_more_processes_than_cores_warns_with_the_numbers(spec, tmp_path, capsys):
    cores = len(os.sched_getaffinity(0))
    status = main(["train", str(spec), "--data", "no-such-data", "--nproc", str(cores + 1),
                   "--batch-size", "64", "--runs", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert status == 2
    assert (f"cnnkit train: warning: --nproc {cores + 1} is more than the {cores} CPU cores"
            in captured.err)
    assert captured.err.count("error:") == 1


def test_an_error_in_the_worker_processes_is_printed_once(spec, tmp_path):
    every = load_dataset("digits", "all")
    keep = (every.y == 3).numpy()
    data = digits_npz(tmp_path / "threes.npz", x=every.x.numpy()[keep], y=every.y.numpy()[keep])
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", str(spec), "--data", str(data),
                           "--nproc", "2", *FAST, "--runs", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "one class only" in lines[0], done.stderr


# ---------------------------------------------------------------- faults


def test_an_unexpected_error_is_one_line_with_a_traceback_file(monkeypatch, capsys):
    import cnnkit.cli.summary as command

    def broken(args):
        raise ZeroDivisionError("something inside cnnkit went wrong")

    monkeypatch.setattr(command, "run", broken)
    monkeypatch.delenv("CNNKIT_DEBUG", raising=False)
    line = one_error_line(capsys, main(["summary", "lenet5"]), expected_status=1)
    assert line.startswith("cnnkit summary: error: unexpected ZeroDivisionError: something inside "
                           "cnnkit went wrong. The full traceback is in ")
    log = Path(line.split("The full traceback is in ")[1].split(" (CNNKIT_DEBUG=1")[0])
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()
    log.unlink()


def test_cnnkit_debug_prints_the_traceback(monkeypatch, capsys):
    import cnnkit.cli.summary as command

    monkeypatch.setattr(command, "run", lambda args: 1 / 0)
    monkeypatch.setenv("CNNKIT_DEBUG", "1")
    assert main(["summary", "lenet5"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "unexpected ZeroDivisionError" in err
    Path(err.split("The full traceback is in ")[1].split(" (CNNKIT_DEBUG=1")[0]).unlink()


def test_ctrl_c_during_training_says_how_to_resume(spec, tmp_path, monkeypatch, capsys):
    from cnnkit.train.trainer import Trainer

    def interrupted(self, resume=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", interrupted)
    status = main(["train", str(spec), "--data", "digits", *FAST, "--runs", str(tmp_path / "r")])
    (run,) = (tmp_path / "r").iterdir()
    line = one_error_line(capsys, status, expected_status=130)
    assert line == f"cnnkit train: interrupted; resume with `cnnkit train --resume {run}`"


def test_a_real_sigint_leaves_a_readable_unlocked_run(spec, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "cnnkit", "train", str(spec), "--data", "digits",
                             "--epochs", "400", "--set", "progress=false", "--set", "threads=1",
                             "--set", "report=false", "--set", "checkpoint_every=2",
                             "--runs", str(tmp_path / "r")],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "r").glob("*/checkpoints/step-*.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    (run,) = (tmp_path / "r").iterdir()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == f"cnnkit train: interrupted; resume with `cnnkit train --resume {run}`"
    assert "Traceback" not in err and not (run / ".lock").exists()
    import warnings

    from cnnkit.runs.checkpoint import load_latest

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the newest checkpoint verifies: --resume continues it
        assert load_latest(run / "checkpoints").state["step"] >= 2


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs /sys (a place nobody may write)")
def test_a_runs_folder_that_cannot_be_written_is_one_line(spec, capsys):
    line = one_error_line(capsys, main(["train", str(spec), "--data", "digits", *FAST,
                                        "--runs", "/sys/cnnkit-runs"]))
    assert line.startswith("cnnkit train: error: cannot write /sys/cnnkit-runs: ")


# ---------------------------------------------------------------- export


onnx_needed = pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("onnx", "onnxruntime",
                                                                     "onnxscript")),
    reason="needs cnnkit[export]")


@onnx_needed
def test_export_refuses_an_existing_out_unless_forced(finished, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    out.write_text("precious")
    line = one_error_line(capsys, main(["export", str(finished), "--out", str(out)]))
    assert line == (f"cnnkit export: error: --out {str(out)!r} exists already. Received: --out "
                    f"{out}, no --force. Give another path, or pass --force to replace it.")
    assert out.read_text() == "precious"
    assert main(["export", str(finished), "--out", str(out), "--force"]) == 0
    assert out.stat().st_size > 1000


@onnx_needed
def test_export_refuses_an_opset_it_cannot_write(finished, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    line = one_error_line(capsys, main(["export", str(finished), "--out", str(out),
                                        "--opset", "3"]))
    assert ("cannot write this Network in ONNX opset 3 (the ONNX version converter does not "
            "translate all of its operators; it fell back to opset 18). Received: --opset 3. Use "
            "an opset from 18 to ") in line
    assert not out.exists() and not list(tmp_path.glob(".m.onnx.*"))
