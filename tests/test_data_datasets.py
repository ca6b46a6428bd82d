"""Bundled data sets: contents, splits, scaling, integrity checks and the registry."""

import hashlib
import shutil

import numpy as np
import pytest
import torch

from cnnkit import ArgumentError
from cnnkit.data import DataFileError, Dataset, dataset_info, list_datasets, load_dataset
from cnnkit.data import datasets as registry

SHAPES = {"mnist5k": (1, 28, 28), "digits": (1, 8, 8), "mnist1d": (1, 40),
          "japanese_vowels": (12, 29),
          "scenes_segment": (1, 48, 48), "scenes_detect": (1, 48, 48),
          "scenes_multilabel": (1, 48, 48), "locate": (1, 48, 48),
          "clips_digit": (1, 8, 32, 32), "clips_motion": (1, 8, 32, 32)}
SIZES = {"mnist5k": (4000, 1000), "digits": (1438, 359), "mnist1d": (4000, 1000),
         "japanese_vowels": (270, 370),
         "scenes_segment": (3000, 600), "scenes_detect": (3000, 600),
         "scenes_multilabel": (3000, 600), "locate": (2000, 500),
         "clips_digit": (2000, 500), "clips_motion": (2000, 500)}
# Kind of target, its dtype and the shape of one sample's target.
TARGETS = {"mnist5k": ("class", torch.int64, ()), "digits": ("class", torch.int64, ()),
           "mnist1d": ("class", torch.int64, ()), "japanese_vowels": ("class", torch.int64, ()),
           "scenes_segment": ("segmentation", torch.int64, (48, 48)),
           "scenes_detect": ("detection", torch.float32, (4, 5)),
           "scenes_multilabel": ("multilabel", torch.float32, (10,)),
           "locate": ("regression", torch.float32, (4,)),
           "clips_digit": ("class", torch.int64, ()), "clips_motion": ("class", torch.int64, ())}


def test_list_datasets():
    others = ["alsa_speech", "fortunes", "go19", "go9"]  # text, Go, audio: own test files
    assert list_datasets() == sorted(list(SHAPES) + others)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_pinned_checksum_matches_shipped_file(name):
    info = dataset_info(name)
    digest = hashlib.sha256((registry._FILES_DIR / info.file).read_bytes()).hexdigest()
    assert digest == info.sha256


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_splits_shapes_types_and_range(name):
    train, test, every = (load_dataset(name, s) for s in ("train", "test", "all"))
    n_train, n_test = SIZES[name]
    assert (len(train), len(test), len(every)) == (n_train, n_test, n_train + n_test)
    kind, dtype, target_shape = TARGETS[name]
    for ds in (train, test, every):
        assert isinstance(ds, Dataset)
        assert ds.input_shape == SHAPES[name] == dataset_info(name).input_shape
        assert ds.x.dtype == torch.float32 and ds.y.dtype == dtype
        assert ds.target == kind == dataset_info(name).target
        assert ds.target_shape == target_shape
        assert ds.classes == dataset_info(name).classes
        if name not in ("mnist1d", "japanese_vowels"):  # images: 8-bit pixels / 255 (digits: 0..16 / 16)
            assert float(ds.x.min()) >= 0.0 and float(ds.x.max()) <= 1.0
    # Every sample is distinct in these sets, so comparing rows as sets shows that
    # train and test are disjoint and together make up the whole set.
    rows = lambda d: {r.tobytes() for r in d.x.flatten(1).numpy()}  # exact, and fast
    assert len(rows(every)) == len(every)
    assert not rows(train) & rows(test)
    assert rows(train) | rows(test) == rows(every)
    assert train.info["licence"] and "scale" in train.info


def test_mnist5k_is_stratified_400_100_and_shuffled():
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    assert train.y.bincount().tolist() == [400] * 10
    assert test.y.bincount().tolist() == [100] * 10
    # Shuffled: the source is sorted by digit, the split is not.
    assert (train.y[:-1] <= train.y[1:]).float().mean() < 0.7
    every = load_dataset("mnist5k", "all")
    assert every.y.tolist() == sorted(every.y.tolist())  # source order kept for "all"
    # Real digits: pixel values 0..255 / 255, about 19 % of the pixels lit.
    assert float(every.x.max()) == 1.0
    assert 0.1 < float((every.x > 0).float().mean()) < 0.3


def test_mnist5k_split_indices_are_a_partition():
    arrays = registry._read_verified(registry._FILES_DIR / "mnist5k.npz",
                                     dataset_info("mnist5k").sha256, "mnist5k")
    together = np.concatenate([arrays["train"], arrays["test"]])
    assert sorted(together.tolist()) == list(range(5000))


def test_digits_scaled_by_16_and_stratified():
    every = load_dataset("digits", "all")
    values = torch.unique(every.x * 16)
    assert torch.equal(values, values.round()) and float(values.max()) == 16.0
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    counts = every.y.bincount()
    assert test.y.bincount().tolist() == torch.round(counts * 0.2).long().tolist()
    assert (train.y.bincount() + test.y.bincount()).tolist() == counts.tolist()


def test_mnist1d_keeps_the_generators_signed_values():
    every, train = load_dataset("mnist1d", "all"), load_dataset("mnist1d", "train")
    arrays = registry._read_verified(registry._FILES_DIR / "mnist1d.npz",
                                     dataset_info("mnist1d").sha256, "mnist1d")
    # Exactly the stored float32 values: no min-max or other rescaling.
    assert torch.equal(every.x[:, 0], torch.from_numpy(arrays["x"]))
    assert torch.equal(train.x[:, 0], torch.from_numpy(arrays["x"][arrays["train"]]))
    assert float(every.x.min()) < -4.0 and float(every.x.max()) > 4.0
    # The generator standardised the whole set: mean 0, standard deviation 1.
    assert abs(float(every.x.mean())) < 1e-4 and abs(float(every.x.std()) - 1.0) < 1e-3
    assert every.y.bincount().tolist() == [500] * 10
    assert every.info["scale"].startswith("none")


def test_japanese_vowels_keeps_the_coefficients_and_pads_with_zero_frames():
    every, train = load_dataset("japanese_vowels", "all"), load_dataset("japanese_vowels")
    arrays = registry._read_verified(registry._FILES_DIR / "japanese_vowels.npz",
                                     dataset_info("japanese_vowels").sha256, "japanese_vowels")
    # 12 coefficients are the channels (no extra channel axis), values as stored.
    assert torch.equal(every.x, torch.from_numpy(arrays["x"]))
    assert torch.equal(train.x, torch.from_numpy(arrays["x"][arrays["train"]]))
    assert every.info["scale"].startswith("none")
    # Utterances of 7 to 29 frames: real frames are never all zero, the padding is.
    length = torch.from_numpy(arrays["length"].astype(np.int64))
    assert int(length.min()) == 7 and int(length.max()) == 29
    frames = torch.arange(29)
    real = (every.x != 0).any(dim=1)                      # (N, 29): a frame with a value
    assert torch.equal(real, frames < length[:, None])
    # The archive's split: 30 training utterances per speaker; its uneven test counts.
    assert train.y.bincount().tolist() == [30] * 9
    assert load_dataset("japanese_vowels", "test").y.bincount().tolist() == [
        31, 35, 88, 44, 29, 24, 40, 50, 29]
    assert float(every.x[:, 0][real].mean()) > 0.5        # c1 of LPC cepstra: about 0.9


def test_loading_twice_gives_equal_independent_tensors():
    a = load_dataset("digits", "train")
    a.x.zero_()
    b = load_dataset("digits", "train")
    assert float(b.x.max()) == 1.0


def test_device_argument():
    ds = load_dataset("digits", "test", device="cpu")
    assert ds.x.device.type == "cpu"


def test_unknown_name_lists_bundled_and_suggests():
    with pytest.raises(ArgumentError, match=r"Unknown data set 'mnist_5k'.*'alsa_speech', "
                                            r"'clips_digit', .*'digits', 'fortunes', 'go19', "
                                            r"'go9', 'japanese_vowels', 'locate', 'mnist1d', "
                                            r"'mnist5k', "
                                            r"'scenes_detect'.*Did you mean 'mnist5k'"):
        load_dataset("mnist_5k")


def test_unknown_split():
    with pytest.raises(ArgumentError, match=r"split must be one of 'train', 'test', 'all'. "
                                            r"Received: split='val'"):
        load_dataset("digits", "val")


def test_name_must_be_str():
    with pytest.raises(TypeError, match=r"name must be a str. Received: name=3"):
        load_dataset(3)


def _packaged_copy(tmp_path, monkeypatch):
    for path in registry._FILES_DIR.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(registry, "_FILES_DIR", tmp_path)
    monkeypatch.setattr(registry, "_CACHE", {})


def test_corrupt_package_file_is_reported(tmp_path, monkeypatch):
    _packaged_copy(tmp_path, monkeypatch)
    raw = bytearray((tmp_path / "digits.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte
    (tmp_path / "digits.npz").write_bytes(bytes(raw))
    with pytest.raises(DataFileError, match=r"data file of 'digits' is corrupt: .*digits.npz "
                                            r"has SHA-256 [0-9a-f]{64}, expected 489ea206.*"
                                            r"Reinstall cnnkit"):
        load_dataset("digits")
    assert len(load_dataset("mnist1d", "test")) == 1000  # the other files still load


def test_truncated_package_file_is_reported(tmp_path, monkeypatch):
    _packaged_copy(tmp_path, monkeypatch)
    raw = (tmp_path / "mnist5k.npz").read_bytes()
    (tmp_path / "mnist5k.npz").write_bytes(raw[:1000])
    with pytest.raises(DataFileError, match="data file of 'mnist5k' is corrupt"):
        load_dataset("mnist5k")


def test_missing_package_file_is_reported(tmp_path, monkeypatch):
    _packaged_copy(tmp_path, monkeypatch)
    (tmp_path / "mnist1d.npz").unlink()
    with pytest.raises(DataFileError, match=r"data file of 'mnist1d' is missing: .*mnist1d.npz"
                                            r".*reinstall"):
        load_dataset("mnist1d")


def test_licences_and_provenance_are_shipped():
    licences = (registry._FILES_DIR / "LICENSES.md").read_text()
    for needle in ("CC BY-SA 3.0", "Corinna Cortes", "BSD 3-Clause", "Apache License 2.0",
                   "CC BY 4.0", "Kudo"):
        assert needle in licences
    readme = (registry._FILES_DIR / "README.md").read_text()
    assert "0.0.2.post1" in readme and '"seed": 42' in readme
    assert "sktime 1.2.0" in readme and "JapaneseVowels_TRAIN.ts" in readme


def test_readme_lists_the_pinned_checksums():
    import re

    readme = (registry._FILES_DIR / "README.md").read_text()
    listed = dict((f, d) for d, f in re.findall(r"^([0-9a-f]{64})  (\S+\.(?:npz|xz))$", readme,
                                                  re.M))
    pinned = {dataset_info(n).file: dataset_info(n).sha256 for n in list_datasets()}
    assert listed == pinned


def test_package_data_globs_cover_every_shipped_file():
    # A wheel (non-editable install) carries only what pyproject's package-data lists.
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["cnnkit"]
    package = root / "cnnkit"
    shipped = [p for p in registry._FILES_DIR.iterdir() if p.is_file()]
    assert {p.name for p in shipped} >= {"mnist5k.npz", "digits.npz", "mnist1d.npz",
                                          "scenes.npz", "locate.npz", "clips.npz",
                                          "japanese_vowels.npz", "LICENSES.md", "README.md"}
    for path in shipped:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
