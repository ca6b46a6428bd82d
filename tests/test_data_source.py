"""Choosing how to load a data source (cnnkit.data.source): data that cannot train is refused
with the numbers, and a run's data has an identity that other data does not share."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError
from cnnkit.data import as_dataset, load_dataset
from cnnkit.data.source import (check_same_data, data_identity, describe_identity, load_data,
                                resolve_source)


def test_a_bundled_name_gives_its_own_split():
    train, test = load_data("digits")
    assert (len(train), len(test)) == (1438, 359)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_npz_values_name_the_sample(tmp_path, value):
    # They used to be reported as "values in [nan, nan]", with no sample named.
    x = np.random.default_rng(0).random((20, 1, 4, 4)).astype(np.float32)
    x[11, 0, 2, 2] = value
    x[15, 0, 0, 0] = value
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(20) % 2)
    with pytest.raises(ArgumentError, match=r"d\.npz: x has 2 NaN or infinite values \(first in "
                                            r"sample 11\)"):
        load_data(tmp_path / "d.npz")


def test_nan_in_a_csv_names_the_row(tmp_path):
    rows = ["label,a,b,c,d"] + [f"{k % 2},0,255,0,255" for k in range(9)]
    rows[5] = "1,0,nan,0,255"
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(rows) + "\n")
    with pytest.raises(ArgumentError, match=r"d\.csv\.gz: data row 5, column 'b' holds nan"):
        load_data(path)


def test_csv_values_are_scaled_as_the_csv_loader_scales_them(tmp_path):
    from cnnkit.data import load_csv

    path = tmp_path / "d.csv"
    path.write_text("label,a,b,c,d\n" + "".join(f"{k % 2},0,255,{k},255\n" for k in range(10)))
    train, test = load_data(path, (1, 2, 2))
    direct = load_csv(path, input_shape=(1, 2, 2))
    got = torch.cat([train.x, test.x]).flatten(1)
    assert torch.equal(got[got[:, 2].argsort()], direct.x.flatten(1))
    assert float(direct.x.max()) == 1.0


def test_nan_in_a_dataset_made_directly_names_the_sample():
    from cnnkit.data import Dataset

    x = torch.rand(10, 1, 4, 4)
    x[6, 0, 1, 1] = float("nan")
    x[8, 0, 1, 1] = float("inf")
    with pytest.raises(ArgumentError, match=r"^data holds NaN at sample 6 \(and 1 more samples\)\."):
        load_data(Dataset(x, torch.arange(10) % 2, ("a", "b")))


def test_a_split_that_leaves_nothing_is_refused(tmp_path):
    np.savez(tmp_path / "two.npz", x=np.zeros((2, 1, 4, 4), np.float32), y=[0, 1])
    with pytest.raises(ArgumentError, match=r"has 2 sample\(s\): a test_fraction of 0\.2 leaves 2 "
                                            r"for training and 0 for testing, and both need at "
                                            r"least one\. Give more data \(at least 3 samples\)"):
        load_data(tmp_path / "two.npz")
    empty = as_dataset(torch.zeros(0, 1, 4, 4), torch.zeros(0, dtype=torch.long), num_classes=2)
    with pytest.raises(ArgumentError, match=r"data gives 0 training samples"):
        load_data((empty, empty))


def test_relative_paths_resolve_against_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_source("x.npz") == str(tmp_path / "x.npz")
    assert resolve_source("mnist5k") == "mnist5k"


def test_identities_tell_sources_apart(tmp_path):
    assert data_identity("mnist5k")["kind"] == "bundled"
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 1, 2, 2)), y=[0, 1, 0, 1])
    file_id = data_identity(tmp_path / "a.npz")
    assert file_id["path"] == str(tmp_path / "a.npz") and len(file_id["sha256"]) == 64
    folder = tmp_path / "images"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "1.png").write_bytes(b"1")
    first = data_identity(folder)
    (folder / "cat" / "1.png").write_bytes(b"2")
    assert data_identity(folder)["sha256"] != first["sha256"] and first["files"] == 1
    ds = load_dataset("digits", "test")
    assert data_identity(ds) == data_identity(ds[:]) != data_identity(ds[1:])
    check_same_data(first, first)
    check_same_data(None, file_id)  # a run from before identities: nothing to compare
    with pytest.raises(ArgumentError, match=rf"this is not the data the run was trained on: the "
                                            rf"run recorded folder {folder} \(1 files, sha256 "
                                            rf".*\), but data='other' is file "):
        check_same_data(first, file_id, given="other")


def test_describe_identity():
    assert describe_identity({"kind": "memory", "sha256": "ab" * 32}) == (
        "data held in memory (sha256 abababababab...)")


def test_a_missing_path_lists_the_bundled_sets():
    with pytest.raises(ArgumentError, match=r"data 'digitz' is neither a bundled data set nor an "
                                            r"existing path\. Received: data='digitz'\. Did you "
                                            r"mean 'digits'\?"):
        load_data("digitz")
    assert not Path("digitz").exists()
