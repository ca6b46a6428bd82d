"""Training from shards that stay on disk: the Trainer, train() and `cnnkit train` stream,
resume exactly, and refuse bad shards and impossible process counts with the numbers."""

import json
import tarfile
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from cnnkit import ArgumentError
from cnnkit.cli.main import main
from cnnkit.data import DataFileError, SkippedFilesWarning, StreamingLoader
from cnnkit.data.pack import pack
from cnnkit.data.shards import load_shards
from cnnkit.data.source import data_identity
from cnnkit.runs import checkpoint as ckpt
from cnnkit.train import TrainConfig, Trainer
from cnnkit.train.api import resume, train

SPEC = {"name": "tiny", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 6, "kernel": 3, "activation": "relu"}}, "flatten", {"dense": 10}]}


@pytest.fixture
def npz_shards(tmp_path):
    gen = torch.Generator().manual_seed(0)
    paths = []
    for k in range(6):
        x = torch.rand(40, 1, 6, 6, generator=gen)
        y = (x[:, 0, :3].mean((1, 2)) > x[:, 0, 3:].mean((1, 2))).long()
        paths.append(tmp_path / f"part-{k}.npz")
        np.savez(paths[-1], x=x.numpy(), y=y.numpy())
    return paths


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("packed") / "digits"
    pack("digits", folder, shard_size=300)   # train: 1438 in 5 shards; test: 359 in 2
    return folder


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))


def _trainer(paths, run_dir, augment=None, workers=0):
    config = TrainConfig(epochs=3, batch_size=16, lr=0.1, checkpoint_every=4, progress=False,
                         val_fraction=0, log_every=3, threads=1, seed=5)
    loader = StreamingLoader(paths, batch_size=16, buffer_size=50, seed=5, drop_last=True,
                             num_workers=workers)
    return Trainer(_model(), config, loader, run_dir=run_dir, augment=augment)


class Stop(KeyboardInterrupt):
    pass


def test_trainer_streams_and_resumes_bit_for_bit(npz_shards, tmp_path):
    whole = _trainer(npz_shards, tmp_path / "whole")
    whole.fit()
    assert whole.step == 3 * len(whole.loader) == 45

    calls = []

    def stop_at_step_10(x, generator):
        calls.append(1)
        if len(calls) == 10:  # mid-epoch 1 (15 steps an epoch), after the step-8 checkpoint
            raise Stop
        return x

    with pytest.raises(Stop):
        _trainer(npz_shards, tmp_path / "cut", augment=stop_at_step_10).fit()
    saved = ckpt.load_latest(tmp_path / "cut" / "checkpoints", [])
    # The position in the shard order is part of the checkpoint.
    assert saved.state["step"] == 8 and saved.state["loader"]["batch"] == 8
    assert {"window", "shard", "offset", "buffer_seed"} <= set(saved.state["loader"])
    again = _trainer(npz_shards, tmp_path / "cut", workers=1)  # workers do not change the order
    again.fit(resume=True)
    for (name, a), b in zip(whole.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_trainer_refuses_a_loader_that_disagrees_with_the_config(npz_shards):
    loader = StreamingLoader(npz_shards, batch_size=16, seed=1)
    with pytest.raises(ArgumentError, match=r"the streaming loader has seed=1 but config.seed "
                                            r"is 0; .*Create the loader with seed=0"):
        Trainer(_model(), TrainConfig(batch_size=16, val_fraction=0, progress=False), loader)
    with pytest.raises(ArgumentError, match=r"config.val_fraction 0.1 cannot be cut from a "
                                            r"streaming loader.*Pass val="):
        Trainer(_model(), TrainConfig(batch_size=16, seed=1, progress=False), loader)


def test_train_and_resume_a_packed_folder(packed, tmp_path):
    config = dict(epochs=2, batch_size=32, lr=0.1, progress=False, threads=1)
    result = train(SPEC, str(packed), config, run_dir=tmp_path / "run")
    recorded = json.loads(json.dumps(__import__("yaml").safe_load(
        (tmp_path / "run" / "config.yaml").read_text())))
    assert recorded["data"]["identity"] == data_identity(packed)
    assert recorded["data"]["identity"]["kind"] == "shards"
    # One of the 5 train shards is held out whole for validation (val_fraction 0.1).
    assert result.val["count"] == 300 and result.test["count"] == 359
    assert result.test["accuracy"] > 0.5
    # A finished run resumes to the same end; the data's index is compared first.
    again = resume(tmp_path / "run")
    assert again.steps == result.steps
    (packed / "index.json").write_text((packed / "index.json").read_text() + " ")
    try:
        with pytest.raises(ArgumentError, match=r"the data changed since run .* recorded shard "
                                                r"folder .*5 train shards"):
            resume(tmp_path / "run")
    finally:
        (packed / "index.json").write_text((packed / "index.json").read_text()[:-1])


def test_missing_and_corrupt_shards(packed, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(packed, folder)
    (folder / "train-000001.tar").unlink()
    with pytest.raises(DataFileError, match=r"The shard .*train-000001.tar listed in "
                                            r".*index.json is missing. Restore it, pack the "
                                            r"data again, or pass on_error='skip'"):
        load_shards(folder)
    with pytest.warns(SkippedFilesWarning, match=r"Skipped 1 of 5 train shards .* missing: "
                                                 r"train-000001.tar"):
        train_set, _ = load_shards(folder, on_error="skip")
    assert len(train_set.shards) == 4 and len(train_set) == 1438 - 300
    # A truncated shard: named and fatal, or skipped by the same rule.
    data = (folder / "train-000002.tar").read_bytes()
    (folder / "train-000002.tar").write_bytes(data[:700])
    loader = StreamingLoader(train_set.shards, batch_size=32, on_error="raise", seed=0)
    with pytest.raises(DataFileError, match=r"Cannot read the (shard|sample \S+ of the shard) "
                                            r".*train-000002.tar: .*pass on_error='skip'"):
        list(loader)
    loader = StreamingLoader(train_set.shards, batch_size=32, on_error="skip", seed=0,
                             drop_last=True)
    with pytest.warns(SkippedFilesWarning, match=r"train-000002.tar"):
        batches = list(loader)
    assert len(batches) == len(loader) and all(len(y) == 32 for _, y in batches)


def test_a_process_without_shards_fails_fast(npz_shards):
    with pytest.raises(ArgumentError, match=r"the data has 2 shard\(s\) but 3 processes read "
                                            r"it: .*so 1 would read none. Received: 2 shards, "
                                            r"world_size=3"):
        StreamingLoader(npz_shards[:2], batch_size=6, rank=2, world_size=3)


def test_uneven_shards_give_every_process_the_same_steps(npz_shards, tmp_path):
    # 5 shards of unequal sizes over 2 processes: the same number of batches in each,
    # every epoch, and no sample read by both.
    paths = list(npz_shards[:4])
    np.savez(tmp_path / "short.npz", x=np.zeros((13, 1, 6, 6), np.float32),
             y=np.zeros(13, np.int64))
    paths.append(tmp_path / "short.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ranks = [StreamingLoader(paths, batch_size=8, rank=r, world_size=2, seed=3)
                 for r in (0, 1)]
    for epoch in range(4):
        orders = [set(r.shard_order(epoch)) for r in ranks]
        assert not orders[0] & orders[1] and orders[0] | orders[1] == set(range(5))
        counts = [sum(1 for _ in r) for r in ranks]
        assert counts[0] == counts[1] == len(ranks[0]) > 0


def test_cli_pack_and_nproc_above_the_shards(tmp_path, capsys):
    out = tmp_path / "shards"
    assert main(["data", "pack", "digits", "--out", str(out), "--shard-size", "400"]) == 0
    assert "train: 1438 samples in 4 shards" in capsys.readouterr().out
    assert main(["data", "pack", "digits", "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["data", "pack", str(out), "--out", str(tmp_path / "again")]) == 2
    assert "is a shard folder already (it has index.json): train from it as it is" in \
        capsys.readouterr().err
    spec = tmp_path / "tiny.yaml"
    spec.write_text(json.dumps(SPEC))
    status = main(["train", str(spec), "--data", str(out), "--nproc", "4",
                   "--runs", str(tmp_path / "runs")])
    assert status == 2
    assert (f"cnnkit train: error: --nproc 4 is more than the 3 training shards of {out} (1 of "
            f"its 4 held out for validation): each process reads whole shards of its own, so 1 "
            f"would read none. Received: --nproc 4, 3 shards.") in capsys.readouterr().err


def _tar(path, samples, fmt=tarfile.USTAR_FORMAT, prefix=""):
    import io

    with tarfile.open(path, "w", format=fmt) as tar:
        for k, (array, label) in enumerate(samples):
            buffer = io.BytesIO()
            np.save(buffer, array)
            for ext, data in (("npy", buffer.getvalue()), ("cls", str(label).encode())):
                info = tarfile.TarInfo(f"{prefix}{k:06d}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_tar_shards_read_alike_by_both_readers(tmp_path):
    from cnnkit.data import TarShard

    samples = [(np.full((1, 2, 3), k, np.float32), k % 3) for k in range(5)]
    _tar(tmp_path / "plain.tar", samples)
    # GNU long names are left to the tarfile module; the samples are the same.
    _tar(tmp_path / "gnu.tar", samples, tarfile.GNU_FORMAT, prefix="d" * 120 + "/")
    for name in ("plain.tar", "gnu.tar"):
        x, y, skipped = TarShard(tmp_path / name).read()
        assert x[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4] and y.tolist() == [0, 1, 2, 0, 1]
        assert not skipped
    # Cut short at a member boundary: the index's count tells.
    data = (tmp_path / "plain.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[:3 * 2 * 1024])  # 3 samples of 2 members
    with pytest.raises(DataFileError, match=r"cut.tar: ReadError: it holds 3 samples but 5 "
                                            r"were announced \(index.json\): it was cut short"):
        TarShard(tmp_path / "cut.tar", length=5).read()
    header = bytearray(data)
    header[10] ^= 1  # a name byte: the header's checksum no longer matches
    (tmp_path / "bad.tar").write_bytes(bytes(header))
    with pytest.raises(DataFileError, match=r"bad.tar: ReadError: a tar header with a bad "
                                            r"checksum at byte 0"):
        TarShard(tmp_path / "bad.tar").read()
