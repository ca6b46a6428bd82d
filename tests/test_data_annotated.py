"""Image folders with label maps (segmentation) and YOLO box files (detection): real PNG
and text files, every error with its pinned one-line message."""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import ArgumentError, ShapeError
from cnnkit.data import (DataFileError, load_detection_folder, load_segmentation_folder,
                         train_test_split)

# ----------------------------------------------------------------------------- segmentation


def _segmentation(root, n=3, size=(6, 8), classes=("sky", "road", "car")):
    """``n`` images whose grey value encodes the class layout, and their label maps."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    maps = []
    for k in range(n):
        mask = np.zeros(size, np.uint8)
        mask[: size[0] // 2] = k % 3
        mask[size[0] // 2:, : size[1] // 2] = (k + 1) % 3
        mask[0, 0] = 255  # an unlabelled pixel
        grey = (mask.astype(np.int64) * 40 % 256).astype(np.uint8)
        Image.fromarray(grey).save(root / "images" / f"im{k}.png")
        Image.fromarray(mask).save(root / "masks" / f"im{k}.png")
        maps.append(mask)
    if classes:
        (root / "classes.txt").write_text("\n".join(classes) + "\n")
    return np.stack(maps)


def test_segmentation_folder(tmp_path):
    maps = _segmentation(tmp_path)
    ds = load_segmentation_folder(tmp_path)
    assert ds.target == "segmentation" and ds.classes == ("sky", "road", "car")
    assert ds.x.shape == (3, 1, 6, 8) and ds.y.shape == (3, 6, 8) and ds.y.dtype == torch.int64
    np.testing.assert_array_equal(ds.y.numpy(), maps)
    np.testing.assert_allclose(ds.x[:, 0].numpy(), (maps.astype(np.int64) * 40 % 256) / 255.0,
                               rtol=1e-6)
    assert ds.ignore_index == 255
    train, test = train_test_split(ds, 0.34)
    assert (len(train), len(test)) == (2, 1) and test.target == "segmentation"


def test_segmentation_resize_is_nearest_for_masks(tmp_path):
    _segmentation(tmp_path, size=(6, 8))
    ds = load_segmentation_folder(tmp_path, size=(3, 4), mode="RGB")
    assert ds.x.shape == (3, 3, 3, 4) and ds.y.shape == (3, 3, 4)
    values = set(ds.y.unique().tolist())
    assert values <= {0, 1, 2, 255}  # never an interpolated id


def test_segmentation_palette_and_16_bit_masks_without_classes_file(tmp_path):
    _segmentation(tmp_path, classes=())
    palette = Image.fromarray(np.array([[0, 4], [4, 2]] * 3, np.uint8)[:6, :2].repeat(4, 1),
                              "L").convert("P")
    palette.save(tmp_path / "masks" / "im0.png")
    Image.fromarray(np.full((6, 8), 3, np.uint16)).save(tmp_path / "masks" / "im1.png")
    ds = load_segmentation_folder(tmp_path)
    assert ds.classes == ("0", "1", "2", "3", "4")  # 0 .. the largest id found
    assert int(ds.y[1].max()) == 3 and set(ds.y[0].unique().tolist()) == {0, 2, 4}
    assert load_segmentation_folder(tmp_path, num_classes=7).num_classes == 7


def test_mask_value_outside_classes(tmp_path):
    _segmentation(tmp_path)
    bad = np.zeros((6, 8), np.uint8)
    bad[2, 5] = 7
    Image.fromarray(bad).save(tmp_path / "masks" / "im1.png")
    with pytest.raises(ArgumentError, match=r"The label map .*masks[/\\]im1.png holds the value 7 "
                                            r"\(row 2, column 5\), outside the classes of "
                                            r"classes.txt \(0..2\) and not the ignore value 255. "
                                            r"Fix the label map or add the class"):
        load_segmentation_folder(tmp_path)


def test_mask_size_differs_from_image(tmp_path):
    _segmentation(tmp_path)
    Image.fromarray(np.zeros((5, 8), np.uint8)).save(tmp_path / "masks" / "im2.png")
    with pytest.raises(ShapeError, match=r"The label map .*im2.png is 8x5 pixels but its image "
                                         r".*images[/\\]im2.png is 8x6 \(width x height\); a "
                                         r"label map must have its image's size"):
        load_segmentation_folder(tmp_path)


def test_image_without_mask_and_mask_without_image(tmp_path):
    _segmentation(tmp_path)
    (tmp_path / "masks" / "im1.png").unlink()
    with pytest.raises(DataFileError, match=r"The image .*images[/\\]im1.png has no label map "
                                            r".*masks[/\\]im1.png. Add it or remove the image"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "images" / "im1.png").unlink()
    Image.fromarray(np.zeros((6, 8), np.uint8)).save(tmp_path / "masks" / "extra.png")
    with pytest.raises(DataFileError, match=r"The label map .*masks[/\\]extra.png has no image "
                                            r".*images[/\\]extra.\*; every label map needs an "
                                            r"image of the same stem"):
        load_segmentation_folder(tmp_path)


def test_mask_format_errors(tmp_path):
    _segmentation(tmp_path)
    Image.new("RGB", (8, 6)).save(tmp_path / "masks" / "im0.png")
    with pytest.raises(DataFileError, match=r"The label map .*im0.png is a RGB image; a label map "
                                            r"holds one class id per pixel. Save it as a grey"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "masks" / "im0.png").unlink()
    Image.new("L", (8, 6)).save(tmp_path / "masks" / "im0.jpg")
    with pytest.raises(DataFileError, match=r"The label map .*im0.jpg is saved as .jpg, a lossy "
                                            r"format.*Save label maps as PNG"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "masks" / "im0.jpg").write_bytes(b"")
    (tmp_path / "masks" / "im0.jpg").unlink()
    (tmp_path / "masks" / "im0.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(DataFileError, match=r"Cannot read the label map .*im0.png: "):
        load_segmentation_folder(tmp_path)


def test_segmentation_layout_errors(tmp_path):
    with pytest.raises(DataFileError, match=r"No such folder: .*nowhere"):
        load_segmentation_folder(tmp_path / "nowhere")
    (tmp_path / "images").mkdir()
    with pytest.raises(DataFileError, match=r"has no masks/ folder. The layout is .*images/"
                                            r"<stem>.png with .*masks/<stem>.png"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "masks").mkdir()
    with pytest.raises(ArgumentError, match=r"images holds no images"):
        load_segmentation_folder(tmp_path)


def test_classes_file_errors(tmp_path):
    _segmentation(tmp_path)
    (tmp_path / "classes.txt").write_text("sky\n\nroad\n")
    with pytest.raises(DataFileError, match=r"classes.txt line 2 is empty; every line names one "
                                            r"class"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "classes.txt").write_text("sky\nroad\nsky\n")
    with pytest.raises(DataFileError, match=r"classes.txt names the class 'sky' twice"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "classes.txt").write_text("\n")
    with pytest.raises(DataFileError, match=r"classes.txt is empty"):
        load_segmentation_folder(tmp_path)
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    with pytest.raises(ArgumentError, match=r"classes.txt names 3 classes but num_classes=4"):
        load_segmentation_folder(tmp_path, num_classes=4)


def test_ignore_index_that_is_a_class(tmp_path):
    _segmentation(tmp_path)
    with pytest.raises(ArgumentError, match=r"The label map .*holds the value 255"):
        load_segmentation_folder(tmp_path, ignore_index=1)


def test_duplicate_stems(tmp_path):
    _segmentation(tmp_path)
    Image.new("L", (8, 6)).save(tmp_path / "images" / "im0.bmp")
    with pytest.raises(DataFileError, match=r"im0.bmp and .*im0.png have the same stem 'im0'"):
        load_segmentation_folder(tmp_path)


# ----------------------------------------------------------------------------- detection


def _detection(root, labels: dict, size=(10, 12), classes=("cat", "dog")):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for k, (stem, text) in enumerate(labels.items()):
        Image.new("RGB", (size[1], size[0]), (20 * k, 0, 0)).save(root / "images" / f"{stem}.png")
        (root / "labels" / f"{stem}.txt").write_text(text)
    if classes:
        (root / "classes.txt").write_text("\n".join(classes))


def test_detection_folder(tmp_path):
    _detection(tmp_path, {"a": "1 0.5 0.5 0.25 0.5\n0 0.2 0.3 0.2 0.2\n",
                          "b": "", "c": "0 0.5 0.5 1.0 1.0"})
    ds = load_detection_folder(tmp_path)
    assert ds.target == "detection" and ds.classes == ("cat", "dog")
    assert ds.x.shape == (3, 3, 10, 12) and ds.y.shape == (3, 2, 5)
    assert ds.y.dtype == torch.float32
    assert ds.y[0].flatten().tolist() == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.5,
                                                        0.0, 0.2, 0.3, 0.2, 0.2])
    assert ds.y[1].tolist() == [[-1.0, 0.0, 0.0, 0.0, 0.0]] * 2      # no objects
    assert ds.y[2, 1].tolist() == [-1.0, 0.0, 0.0, 0.0, 0.0]         # padding
    resized = load_detection_folder(tmp_path, size=5, mode="L", max_boxes=4)
    assert resized.x.shape == (3, 1, 5, 5) and resized.y.shape == (3, 4, 5)
    assert torch.equal(resized.y[:, :2], ds.y)  # normalised boxes do not change
    train, test = train_test_split(ds, 0.34, seed=0)
    assert len(test) == 1 and test.y.shape == (1, 2, 5)


def test_detection_without_classes_file(tmp_path):
    _detection(tmp_path, {"a": "3 0.5 0.5 0.2 0.2\n"}, classes=())
    ds = load_detection_folder(tmp_path)
    assert ds.classes == ("0", "1", "2", "3")
    with pytest.raises(DataFileError, match=r"a.txt line 1 has the class 3, outside the classes "
                                            r"0..1"):
        load_detection_folder(tmp_path, num_classes=2)


@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0.2 0.2\n\n1 0.5 0.5 0.2 0.2\n",
     r"a.txt line 2 is empty. Every line is one box 'class cx cy w h'; remove blank lines \(an "
     r"image without objects has an empty file\)"),
    ("0 0.5 0.5 0.2\n", r"a.txt line 1 has 4 fields: '0 0.5 0.5 0.2'. Every line is one box "
                        r"'class cx cy w h' \(5 fields"),
    ("cat 0.5 0.5 0.2 0.2\n", r"a.txt line 1 is not 'class cx cy w h' with an integer class and "
                              r"four numbers: 'cat 0.5 0.5 0.2 0.2'"),
    ("0 0.5 nan 0.2 0.2\n", r"a.txt line 1 holds a NaN or infinite coordinate"),
    ("2 0.5 0.5 0.2 0.2\n", r"a.txt line 1 has the class 2, outside the classes 0..1. Fix the "
                            r"class id or add the class to classes.txt"),
    ("-1 0.5 0.5 0.2 0.2\n", r"a.txt line 1 has the class -1, outside the classes 0..1"),
    ("0 0.5 0.5 0 0.2\n", r"a.txt line 1 has a box of non-positive size \(w=0, h=0.2\)"),
    ("0 0.5 0.5 0.3 -0.1\n", r"non-positive size \(w=0.3, h=-0.1\)"),
    ("1 0.95 0.5 0.2 0.2\n", r"a.txt line 1 has a box outside the image: '1 0.95 0.5 0.2 0.2' "
                             r"spans x 0.85..1.05, y 0.4..0.6. YOLO boxes are normalised"),
    ("1 0.5 0.5 0.2 0.2\n0 10 20 4 4\n", r"a.txt line 2 has a box outside the image.*divide "
                                         r"pixel coordinates by the image's width and height"),
])
def test_bad_annotation_lines(tmp_path, text, message):
    _detection(tmp_path, {"a": text, "b": ""})
    with pytest.raises(DataFileError, match=message):
        load_detection_folder(tmp_path)


def test_annotation_and_image_orphans(tmp_path):
    _detection(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "b": ""})
    (tmp_path / "labels" / "b.txt").unlink()
    with pytest.raises(DataFileError, match=r"The image .*images[/\\]b.png has no label file "
                                            r".*labels[/\\]b.txt. Add it \(an empty file for an "
                                            r"image without objects\) or remove the image"):
        load_detection_folder(tmp_path)
    (tmp_path / "images" / "b.png").unlink()
    (tmp_path / "labels" / "c.txt").write_text("")
    with pytest.raises(DataFileError, match=r"The label file .*labels[/\\]c.txt has no image "
                                            r".*images[/\\]c.\*"):
        load_detection_folder(tmp_path)


def test_too_many_boxes(tmp_path):
    _detection(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n" * 3})
    with pytest.raises(ArgumentError, match=r"The label file .*a.txt has 3 boxes, more than "
                                            r"max_boxes=2. Pass max_boxes=3 or more"):
        load_detection_folder(tmp_path, max_boxes=2)
    with pytest.raises(ArgumentError, match=r"max_boxes must be a positive int. Received: "
                                            r"max_boxes=0"):
        load_detection_folder(tmp_path, max_boxes=0)


def test_images_of_different_sizes_need_size(tmp_path):
    _detection(tmp_path, {"a": "", "b": ""})
    Image.new("RGB", (7, 7)).save(tmp_path / "images" / "b.png")
    with pytest.raises(ShapeError, match=r"b.png is 3x7x7 \(RGB\) but .*a.png is 3x10x12 "
                                         r"\(RGB\).*Pass size=\(10, 12\)"):
        load_detection_folder(tmp_path)
    assert load_detection_folder(tmp_path, size=(10, 12)).x.shape == (2, 3, 10, 12)
