"""Run folders (cnnkit.runs): names that stay inside the runs folder, one writer at a time,
checkpoints that refuse crafted or mismatched files, files with the user's permissions."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from cnnkit import ArgumentError
from cnnkit._files import FileWriteError, default_file_mode
from cnnkit.runs import (RunFolder, RunLockedError, StaleLockWarning, check_new_run_dir,
                         lock_run, new_run_dir, read_metrics, run_name)
from cnnkit.runs import checkpoint as ckpt
from cnnkit.runs.lock import LOCK_NAME, read_lock
from cnnkit.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, folder", [("../../x", "x"), ("/etc/cron.d", "etc-cron.d"),
                                          ("a\\..\\b", "a-..-b"), ("..", "run"), ("", "run"),
                                          ("lenet 5 (relu)", "lenet-5-relu")])
def test_run_names_are_one_path_component(tmp_path, name, folder):
    assert run_name(name) == folder
    made = new_run_dir(tmp_path / "runs", name)
    assert made.parent == tmp_path / "runs" and made.name.startswith(folder + "-")


def test_an_explicit_name_with_a_path_is_refused():
    with pytest.raises(ArgumentError, match=r"name must be one folder name, not a path\. "
                                            r"Received: name='\.\./x'\. .* such as 'x'"):
        run_name("../x", explicit=True)


def test_new_run_dirs_are_created_and_unique(tmp_path):
    made = {new_run_dir(tmp_path, "net") for _ in range(5)}
    assert len(made) == 5 and all(p.is_dir() for p in made)


def test_runs_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArgumentError, match=r"runs_root must be a folder, but .* is a file"):
        new_run_dir(tmp_path / "f", "net")


def test_a_folder_with_files_is_no_place_for_a_new_run(tmp_path):
    check_new_run_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    check_new_run_dir(tmp_path / "empty")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("x")
    with pytest.raises(ArgumentError, match=r"run_dir '.*used' already holds files \(notes\.txt\); "
                                            r"a new run there would mix with it"):
        check_new_run_dir(tmp_path / "used")


# --------------------------------------------------------------------------------- lock

HOLD = textwrap.dedent("""
    import sys, time
    from cnnkit.runs import lock_run
    with lock_run(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def small_trainer(run_dir, **changes):
    torch.manual_seed(0)
    x = torch.rand(200, 1, 8, 8)
    y = (x.mean((1, 2, 3)) > 0.5).long()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    settings = dict(epochs=3, batch_size=20, lr=0.1, progress=False, checkpoint_every=3)
    settings.update(changes)
    return Trainer(model, TrainConfig(**settings), (x, y), run_dir=run_dir, spec={"a": 1})


def test_lock_is_reentrant_within_a_process_and_released(tmp_path):
    with lock_run(tmp_path):
        with lock_run(tmp_path):
            assert read_lock(tmp_path)["pid"] == os.getpid()
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_process_cannot_train_in_a_locked_run(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline().strip() == "locked"
        trainer = small_trainer(run)
        with pytest.raises(RunLockedError, match=rf"is in use by process {holder.pid}, which is "
                                                 rf"writing it"):
            trainer.fit()
        assert not (run / "metrics.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_notice(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text(f"pid={dead.pid}\nhost=elsewhere\n")
    with pytest.warns(StaleLockWarning, match=rf"had a lock of process {dead.pid}, which no "
                                              rf"longer runs; it is taken over"):
        small_trainer(run).fit()
    assert not (run / LOCK_NAME).exists()


# --------------------------------------------------------------------------- checkpoints

def test_a_checkpoint_json_may_only_name_a_file_beside_it(tmp_path):
    trainer = small_trainer(tmp_path / "run")
    trainer.fit()
    newest = ckpt.find_checkpoints(tmp_path / "run" / "checkpoints")[0]
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(newest.with_suffix(".safetensors").read_bytes())
    state = json.loads(newest.read_text())
    for name in ("../../outside.safetensors", str(outside), "/etc/passwd", ".hidden.safetensors",
                 None, 3):
        state["tensors_file"] = name
        newest.write_text(json.dumps(state))
        with pytest.raises(ckpt.CheckpointError, match=r"which is not a plain \.safetensors file "
                                                       r"name in .*: refused"):
            ckpt.read_checkpoint(newest)
    newest.write_text("[1, 2]")
    with pytest.raises(ckpt.CheckpointError, match=r"must hold a JSON object"):
        ckpt.read_checkpoint(newest)


def test_a_tensor_of_the_wrong_shape_is_named(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    tensors = {"1.weight": torch.zeros(3, 64), "1.bias": torch.zeros(2)}
    with pytest.raises(ckpt.CheckpointError, match=r"holds 1\.weight of shape \(3, 64\), but the "
                                                   r"network's 1\.weight has shape \(2, 64\)"):
        ckpt.load_state(model, tensors, "step-1.json")
    with pytest.raises(ckpt.CheckpointError, match=r"it lacks 1\.bias and has extra\.w that the "
                                                   r"network does not"):
        ckpt.load_state(model, {"1.weight": torch.zeros(2, 64), "extra.w": torch.zeros(1)},
                        "step-1.json")


def test_resume_refuses_optimiser_state_that_fits_no_parameter(tmp_path):
    from safetensors.torch import load_file, save_file

    small_trainer(tmp_path / "run").fit()
    newest = ckpt.find_checkpoints(tmp_path / "run" / "checkpoints")[0]
    blob = newest.with_suffix(".safetensors")
    tensors = load_file(str(blob))
    key = next(k for k in tensors if k.startswith("optim."))
    tensors[key] = torch.zeros(7, 7)
    save_file(tensors, str(blob))
    state = json.loads(newest.read_text())
    state["sha256"] = ckpt.sha256_file(blob)
    newest.write_text(json.dumps(state))
    with pytest.raises(ckpt.CheckpointError, match=rf"holds optimiser state {key} of shape "
                                                   rf"\(7, 7\), which fits no parameter"):
        small_trainer(tmp_path / "run").fit(resume=True)


def test_checkpoints_and_their_json_share_the_users_file_mode(tmp_path):
    old = os.umask(0o027)
    try:
        small_trainer(tmp_path / "run").fit()
        expected = default_file_mode()
    finally:
        os.umask(old)
    assert expected == 0o640
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files) and any(p.suffix == ".json" for p in files)
    modes = {p.name: p.stat().st_mode & 0o777 for p in files}
    assert set(modes.values()) == {expected}, modes


def test_a_full_disk_is_one_error_naming_the_path():
    from cnnkit.train.metrics import MetricsLog

    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    with pytest.raises(FileWriteError, match=r"cannot write /dev/full: No space left on device\. "
                                             r"Free some space on that disk"):
        MetricsLog("/dev/full").append({"step": 1})


def test_read_metrics_stops_at_a_cut_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n[3]\n{"step": 4}\n')
    assert read_metrics(path) == [{"step": 1}, {"step": 2}]
    assert read_metrics(tmp_path / "none.jsonl") == []


def test_load_run_model_says_what_is_missing(tmp_path):
    from cnnkit.runs import load_run_model

    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ArgumentError, match=r"is not a run folder \(it has no spec\.yaml\)\. "
                                            r"Received: run_dir="):
        load_run_model(run)
    RunFolder(run).write_yaml("spec.yaml", {"input": [1, 8, 8], "layers": ["flatten", {"dense": 2}]})
    with pytest.raises(ArgumentError, match=r"has no readable weights: it has no checkpoint yet"):
        load_run_model(run)
    with pytest.raises(ArgumentError, match=r"which must be 'best' or 'last'\. Received: "
                                            r"which='first'"):
        load_run_model(run, "first")
