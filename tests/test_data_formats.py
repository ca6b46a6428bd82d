""".npz files with targets of any kind and stored splits, CSV tables with several target
columns, and images of more than 8 bits (real files written by NumPy and Pillow)."""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import ArgumentError, ShapeError
from cnnkit.data import DataFileError, load_csv, load_image_folder, load_npz
from cnnkit.data.sources import read_images

# ----------------------------------------------------------------------------- npz


def test_npz_targets_of_any_shape(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((6, 1, 5, 5)).astype(np.float32) * 4 - 2
    cases = {
        "class": rng.integers(0, 3, 6),
        "multilabel": rng.integers(0, 2, (6, 4)).astype(np.uint8),
        "regression": rng.normal(size=(6, 3)).astype(np.float32),
        "segmentation": rng.integers(0, 4, (6, 5, 5)).astype(np.uint8),
    }
    for kind, y in cases.items():
        path = tmp_path / f"{kind}.npz"
        np.savez(path, x=x, y=y)
        ds = load_npz(path, target=kind)
        assert ds.target == kind and ds.y.shape == y.shape
        assert torch.equal(ds.x, torch.from_numpy(x))  # floats keep their signed values
        np.testing.assert_array_equal(ds.y.numpy(), y)


def test_npz_stored_splits_and_classes(tmp_path):
    path = tmp_path / "set.npz"
    x = np.arange(10 * 4, dtype=np.uint8).reshape(10, 4)
    y = np.arange(10) % 2
    np.savez(path, x=x, y=y, train=np.array([9, 0, 2, 4, 6]), val=[1, 3], test=[5, 7, 8],
             classes=np.array(["odd one", "even one"]))
    every = load_npz(path)
    assert len(every) == 10 and every.info["splits"] == ["train", "val", "test"]
    assert every.classes == ("odd one", "even one")
    train = load_npz(path, split="train")
    assert train.split == "train" and train.y.tolist() == [1, 0, 0, 0, 0]
    assert torch.equal(train.x[0, 0], torch.from_numpy(x[9]).float() / 255)
    assert load_npz(path, split="val").y.tolist() == [1, 1]
    assert len(load_npz(path, split="test")) == 3
    assert load_npz(path, classes=["a", "b"]).classes == ("a", "b")  # the argument wins


def test_npz_split_errors(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, x=np.zeros((4, 3)), y=[0, 1, 0, 1], train=[0, 1, 2])
    with pytest.raises(ArgumentError, match=r"split='test' needs an index array 'test' in "
                                            r".*set.npz; the file's splits: 'train'. Pass "
                                            r"split=None"):
        load_npz(path, split="test")
    with pytest.raises(ArgumentError, match=r"split must be one of 'train', 'val', 'test', "
                                            r"'all'. Received: split='dev'"):
        load_npz(path, split="dev")
    np.savez(path, x=np.zeros((4, 3)), y=[0, 1, 0, 1], train=[0, 1, 4])
    with pytest.raises(ArgumentError, match=r"the split 'train' in .*set.npz lists the row 4, "
                                            r"but the file holds 4 samples \(rows 0..3\)"):
        load_npz(path, split="train")
    np.savez(path, x=np.zeros((4, 3)), y=[0, 1, 0, 1], train=[0.0, 1.0])
    with pytest.raises(ArgumentError, match=r"the split 'train' .* must be a 1-D array of row "
                                            r"indices. Received: dtype float64"):
        load_npz(path, split="train")
    np.savez(path, x=np.zeros((4, 3)), y=[0, 1, 0, 1], classes=[1, 2])
    with pytest.raises(ArgumentError, match=r"the array 'classes' in .*set.npz must be a 1-D "
                                            r"array of names"):
        load_npz(path)


def test_npz_nan_targets(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.array([[0.1], [np.nan], [0.3]]))
    with pytest.raises(ArgumentError, match=r"^.*set.npz: y has 1 NaN or infinite values "
                                            r"\(first in sample 1\). Remove those samples"):
        load_npz(path)


# ----------------------------------------------------------------------------- csv


def test_csv_several_targets_multilabel(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text("p0,p1,p2,cat,dog\n0,255,51,1,0\n255,0,0,1,1\n0,0,0,0,0\n")
    ds = load_csv(path, target_columns=["cat", "dog"])
    assert ds.target == "multilabel" and ds.classes == ("cat", "dog")
    assert ds.y.tolist() == [[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    assert ds.x[0, 0].tolist() == pytest.approx([0.0, 1.0, 0.2])  # 8-bit pixels / 255
    by_index = load_csv(path, target_columns=[-2, -1])
    assert torch.equal(by_index.y, ds.y)
    as_values = load_csv(path, target_columns=["cat", "dog"], target="regression")
    assert as_values.target == "regression" and as_values.y.dtype == torch.float32


def test_csv_regression_keeps_feature_values(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("rooms,area,age,price\n3,72.5,-1.5,210.0\n5,130.0,12,455.5\n")
    ds = load_csv(path, target_columns="price")
    assert ds.target == "regression" and ds.classes == ("price",)
    assert ds.y.tolist() == [[210.0], [455.5]]
    assert ds.x[:, 0].tolist() == [[3.0, 72.5, -1.5], [5.0, 130.0, 12.0]]
    two = load_csv(path, target_columns=["age", "price"])
    assert two.y.shape == (2, 2) and two.classes == ("age", "price")
    # Whole numbers in one target column are class labels unless told otherwise.
    assert load_csv(path, target_columns="rooms").target == "class"
    assert load_csv(path, target_columns="rooms", target="regression").y.tolist() == [[3.0], [5.0]]


def test_csv_target_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,y1,y2\n1,2,0.5,nan\n3,4,0.1,0.2\n")
    with pytest.raises(ArgumentError, match=r"t.csv: data row 1, column 'y2' holds nan: targets "
                                            r"must be finite numbers. Fill the missing value or "
                                            r"remove the row"):
        load_csv(path, target_columns=["y1", "y2"])
    path.write_text("a,b,y1,y2\n1,inf,0.5,0.3\n")
    with pytest.raises(ArgumentError, match=r"data row 1, column 'b' holds inf: features must "
                                            r"be finite"):
        load_csv(path, target_columns=["y1", "y2"])
    path.write_text("a,b,y1,y2\n1,2,0.5,big\n")
    with pytest.raises(ArgumentError, match=r"data row 1, column 'y2' holds 'big', not a number; "
                                            r"several target columns need numbers"):
        load_csv(path, target_columns=["y1", "y2"])
    with pytest.raises(ArgumentError, match=r"column 'y2' holds 'big', not a number; "
                                            r"target='regression' need numbers"):
        load_csv(path, target_columns="y2", target="regression")
    with pytest.raises(ArgumentError, match=r"pass target_columns or label_column, not both"):
        load_csv(path, target_columns=["y1"], label_column=0)
    with pytest.raises(ArgumentError, match=r"target_columns='zz' is not a column of .*t.csv"):
        load_csv(path, target_columns=["y1", "zz"])
    with pytest.raises(ArgumentError, match=r"target_columns names a column twice"):
        load_csv(path, target_columns=["y1", 2])
    with pytest.raises(ArgumentError, match=r"every column of .*t.csv is a target"):
        load_csv(path, target_columns=[0, 1, 2, 3])
    with pytest.raises(ArgumentError, match=r"target must be one of 'class', 'multilabel', "
                                            r"'regression'. Received: target='detection'"):
        load_csv(path, target_columns=["y1"], target="detection")


# ----------------------------------------------------------------------------- 16-bit


def _sixteen(path, values):
    Image.fromarray(np.asarray(values, np.uint16)).save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I;16")  # really a 16-bit file


def test_read_images_16_bit_is_not_clipped(tmp_path):
    values = np.array([[0, 255, 256, 1000], [30000, 40000, 65000, 65535]], np.uint16)
    _sixteen(tmp_path / "deep.png", values)
    array, kept, skipped = read_images([tmp_path / "deep.png"])
    assert array.dtype == np.float32 and kept == [0] and not skipped
    np.testing.assert_allclose(array[0, 0], values / 65535.0, rtol=1e-6)
    rgb, _, _ = read_images([tmp_path / "deep.png"], mode="RGB")
    assert rgb.shape == (1, 3, 2, 4)
    np.testing.assert_allclose(rgb[0, 2], values / 65535.0, rtol=1e-6)
    half, _, _ = read_images([tmp_path / "deep.png"], size=(1, 2))
    # A bilinear shrink averages; its values stay in 16-bit's [0, 1], not clipped at 255.
    assert half.shape == (1, 1, 1, 2) and 0.1 < half.min() and half.max() < 1.0


def test_image_folder_with_16_bit_and_8_bit_images(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    _sixteen(tmp_path / "a" / "x.png", np.full((3, 3), 13107))      # 0.2 of 65535
    Image.new("L", (3, 3), 51).save(tmp_path / "b" / "y.png")       # 0.2 of 255
    ds = load_image_folder(tmp_path)
    assert ds.x.dtype == torch.float32
    assert ds.x[0].flatten().tolist() == pytest.approx([0.2] * 9)
    assert ds.x[1].flatten().tolist() == pytest.approx([0.2] * 9)


def test_float_tiff_keeps_its_values(tmp_path):
    values = np.array([[-1.5, 0.0], [2.25, 300.0]], np.float32)
    Image.fromarray(values, "F").save(tmp_path / "f.tif")
    array, _, _ = read_images([tmp_path / "f.tif"])
    np.testing.assert_array_equal(array[0, 0], values)


def test_32_bit_integer_image_out_of_range(tmp_path):
    Image.fromarray(np.array([[0, 70000]], np.int32), "I").save(tmp_path / "wide.tif")
    with pytest.raises(DataFileError, match=r"Cannot read the image .*wide.tif: ValueError: "
                                            r"32-bit integer pixels in \[0, 70000\]"):
        read_images([tmp_path / "wide.tif"])


def test_16_bit_image_shape_checks_still_apply(tmp_path):
    _sixteen(tmp_path / "deep.png", np.zeros((4, 6)))
    with pytest.raises(ShapeError, match=r"deep.png is 1x4x6 \(grey\) but input_shape="
                                         r"\(1, 8, 8\) expects 1x8x8"):
        read_images([tmp_path / "deep.png"], input_shape=(1, 8, 8))
