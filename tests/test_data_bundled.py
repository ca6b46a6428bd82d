"""The sets made of real mnist5k digits: scenes (label maps, boxes, digits present), the
localisation set and the moving-digit clips. Their views agree with each other and with
the pixels, no test digit leaks into training, and tools/digit_sets.py remakes the shipped
arrays exactly."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnkit.data import dataset_info, load_dataset
from cnnkit.data import datasets as registry

ROOT = Path(__file__).resolve().parents[1]


def _arrays(name):
    info = dataset_info(name)
    return registry._read_verified(registry._FILES_DIR / info.file, info.sha256, name)


def _mnist():
    return _arrays("mnist5k")


def _ink_box(mask):
    """(top, left, bottom, right) of the True pixels, bottom/right exclusive."""
    ys, xs = np.nonzero(mask)
    return ys.min(), xs.min(), ys.max() + 1, xs.max() + 1


@pytest.mark.parametrize("name, file", [("scenes_segment", "scenes"), ("locate", "locate"),
                                        ("clips_digit", "clips")])
def test_no_test_digit_in_training(name, file):
    arrays, mnist = _arrays(name), _mnist()
    for split in ("train", "test"):
        used = arrays["sources"][arrays[split]].ravel()
        used = used[used >= 0]
        assert set(used.tolist()) <= set(mnist[split].tolist()), split
    # Real digits: each sample's label is the mnist5k label of the digit drawn.
    if file == "locate":
        assert np.array_equal(arrays["digit"], mnist["y"][arrays["sources"]])
    if file == "clips":
        assert np.array_equal(arrays["digit"], mnist["y"][arrays["sources"]])


def test_scenes_views_agree_with_each_other_and_the_pixels():
    seg, det, multi = (load_dataset(n, "test") for n in
                       ("scenes_segment", "scenes_detect", "scenes_multilabel"))
    assert torch.equal(seg.x, det.x) and torch.equal(seg.x, multi.x)
    # Ink is decided by one threshold: a pixel is labelled iff it is >= 128 of 255.
    assert torch.equal(seg.y > 0, (seg.x[:, 0] * 255).round() >= 128)
    real = det.y[..., 0] >= 0
    present = torch.zeros(len(det), 10)
    for k in range(det.y.shape[1]):
        rows = real[:, k].nonzero()[:, 0]
        present[rows, det.y[rows, k, 0].long()] = 1
    assert torch.equal(present, multi.y)
    counts = real.sum(1)
    assert counts.min() >= 1 and counts.max() == 4 and len(counts.unique()) == 4
    arrays, mnist = _arrays("scenes_segment"), _mnist()
    sources = arrays["sources"][arrays["test"]]
    for i in range(0, len(det), 7):
        for k in range(int(counts[i])):
            cls, cx, cy, w, h = (det.y[i, k] * torch.tensor([1, 48, 48, 48, 48])).tolist()
            assert cls == mnist["y"][sources[i, k]]
            top, left = round(cy - h / 2), round(cx - w / 2)
            bottom, right = round(cy + h / 2), round(cx + w / 2)
            window = seg.y[i, top:bottom, left:right].numpy() == cls + 1
            # The box is the tight box of its digit's labelled pixels.
            assert _ink_box(window) == (0, 0, bottom - top, right - left)
    assert seg.classes[0] == "background" and seg.num_classes == 11


def test_locate_targets_are_the_ink_box():
    every = load_dataset("locate", "all")
    assert every.classes == ("cx", "cy", "w", "h") and every.y.shape == (2500, 4)
    for i in range(0, len(every), 25):
        top, left, bottom, right = _ink_box((every.x[i, 0] * 255).round().numpy() >= 128)
        expected = [(left + right) / 96, (top + bottom) / 96, (right - left) / 48,
                    (bottom - top) / 48]
        assert every.y[i].tolist() == pytest.approx(expected, abs=1e-6)
    spread = every.y.std(0)
    assert bool((spread > 0.05).all())  # positions and sizes vary: something to learn


def test_clips_move_as_labelled():
    digit, motion = load_dataset("clips_digit", "test"), load_dataset("clips_motion", "test")
    assert torch.equal(digit.x, motion.x) and digit.input_shape == (1, 8, 32, 32)
    assert motion.classes[motion.y[0]] in registry.MOTIONS
    speeds = _arrays("clips_motion")["speed"][_arrays("clips_motion")["test"]]
    steps = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
    ink = (digit.x[:, 0] * 255).round() >= 128
    for i in range(0, len(digit), 10):
        first, last = _ink_box(ink[i, 0].numpy()), _ink_box(ink[i, -1].numpy())
        dx, dy = steps[int(motion.y[i])]
        speed = int(speeds[i])
        assert (last[1] - first[1], last[0] - first[0]) == (7 * speed * dx, 7 * speed * dy)
        # The same digit in every frame: the ink is only moved.
        shape = [ink[i, f].numpy()[_slice(_ink_box(ink[i, f].numpy()))] for f in (0, 7)]
        assert np.array_equal(*shape)
    assert sorted(motion.y.unique().tolist()) == list(range(8))


def _slice(box):
    return slice(box[0], box[2]), slice(box[1], box[3])


def test_the_generator_remakes_the_shipped_arrays():
    spec = importlib.util.spec_from_file_location("digit_sets", ROOT / "tools" / "digit_sets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mnist = module.read_mnist5k(registry._FILES_DIR / "mnist5k.npz")
    for name, maker in (("scenes_segment", module.make_scenes), ("locate", module.make_locate),
                        ("clips_digit", module.make_clips)):
        made, shipped = maker(mnist), _arrays(name)
        assert sorted(made) == sorted(shipped)
        for key in made:
            assert made[key].dtype == shipped[key].dtype, (name, key)
            assert np.array_equal(made[key], shipped[key]), (name, key)


def test_the_japanese_vowels_builder_reads_the_archives_text_format(tmp_path):
    # tools/build_data_files.py reads sktime's .ts files (the wheel is not needed here:
    # a hand-made wheel with two utterances of 2 and 3 frames stands in for it).
    import zipfile

    spec = importlib.util.spec_from_file_location("build_data_files",
                                                  ROOT / "tools" / "build_data_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    header = "#comment\n@problemName JapaneseVowels\n@dimensions 12\n@data\n"
    lines = {"TRAIN": ":".join(",".join(str(d + 0.5 * t) for t in range(2)) for d in range(12))
                      + ":3\n",
             "TEST": ":".join(",".join(str(-d - t) for t in range(3)) for d in range(12))
                     + ":9\n"}
    with zipfile.ZipFile(tmp_path / "sktime-0-py3-none-any.whl", "w") as wheel:
        for split, line in lines.items():
            wheel.writestr(f"sktime/datasets/data/JapaneseVowels/JapaneseVowels_{split}.ts",
                           header + line)
    series, labels = module._ts_series(header + lines["TEST"])
    assert labels == ["9"] and series[0].shape == (12, 3) and series[0][11, 2] == -13
    module.OUT = tmp_path
    module.build_japanese_vowels(tmp_path)
    with np.load(tmp_path / "japanese_vowels.npz") as made:
        assert made["x"].shape == (2, 12, 29) and made["x"].dtype == np.float32
        assert made["length"].tolist() == [2, 3] and made["y"].tolist() == [2, 8]
        assert made["x"][0, 5, 1] == 5.5 and not made["x"][0, :, 2:].any()  # zero frames after
        assert made["train"].tolist() == [0] and made["test"].tolist() == [1]
