"""Folders of images with per-image annotations: label maps (segmentation) and boxes
(detection, YOLO text format).

Both layouts pair files by stem::

    root/images/<stem>.<ext>    root/masks/<stem>.png      (segmentation)
    root/images/<stem>.<ext>    root/labels/<stem>.txt     (detection)
    root/classes.txt            optional: one class name per line, class k on line k + 1

Every problem with an annotation is one line that names the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, to_tuple
from .dataset import DataFileError, Dataset
from .sources import IMAGE_EXTENSIONS, _path, read_images
from .targets import BOX_TOLERANCE, IGNORE_INDEX

__all__ = ["load_detection_folder", "load_segmentation_folder", "read_classes_file"]

# Lossy formats change pixel values, so a label map saved in them no longer holds class ids.
_LOSSY = (".jpg", ".jpeg", ".webp")
_MASK_MODES = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N"}


def read_classes_file(root: Path) -> tuple[str, ...] | None:
    """Class names from ``root/classes.txt`` (one per line; blank lines at the end are
    ignored), or ``None`` when there is no such file.

    Raises:
        DataFileError: the file is empty, has a blank line between names, or repeats
            a name.
    """
    path = root / "classes.txt"
    if not path.is_file():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(f"Cannot read {path}: {error}.") from error
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    if not names:
        raise DataFileError(
            f"{path} is empty. Write one class name per line (class 0 first), or delete "
            f"the file to number the classes 0, 1, ..."
        )
    if "" in names:
        raise DataFileError(
            f"{path} line {names.index('') + 1} is empty; every line names one class "
            f"(class k on line k + 1). Remove the blank line or name the class."
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise DataFileError(f"{path} names the class {twice!r} twice; give each class one line.")
    return tuple(names)


def _stems(folder: Path, extensions, what: str) -> dict[str, Path]:
    """``{stem: file}`` of the files in ``folder`` with one of ``extensions``."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or \
                path.suffix.lower() not in extensions:
            continue
        if path.stem in found:
            raise DataFileError(
                f"{found[path.stem]} and {path} have the same stem {path.stem!r}; each "
                f"{what} must have its own name. Rename or remove one."
            )
        found[path.stem] = path
    return found


def _pair(root: Path, annotations: str, extensions, what: str,
          example: str) -> tuple[list[Path], list[Path]]:
    """Images and their annotation files, matched by stem; every orphan is an error."""
    root = _path(root, "root")
    if not root.is_dir():
        raise DataFileError(f"No such folder: {root}. Received: root={str(root)!r}.")
    images_dir, notes_dir = root / "images", root / annotations
    for folder in (images_dir, notes_dir):
        if not folder.is_dir():
            raise DataFileError(
                f"{root} has no {folder.name}/ folder. The layout is {root}/images/<stem>.png "
                f"with {root}/{annotations}/<stem>{example} for each image."
            )
    images = _stems(images_dir, IMAGE_EXTENSIONS, "image")
    notes = _stems(notes_dir, extensions, what)
    if not images:
        raise ArgumentError(
            f"{images_dir} holds no images (extensions {', '.join(IMAGE_EXTENSIONS)})."
        )
    for stem, path in images.items():
        if stem not in notes:
            raise DataFileError(
                f"The image {path} has no {what} {notes_dir / (stem + example)}. Add it"
                f"{' (an empty file for an image without objects)' if what == 'label file' else ''}"
                f" or remove the image."
            )
    for stem, path in notes.items():
        if stem not in images:
            raise DataFileError(
                f"The {what} {path} has no image {images_dir / stem}.*; every {what} needs "
                f"an image of the same stem. Add the image or remove the {what}."
            )
    stems = sorted(images)
    return [images[s] for s in stems], [notes[s] for s in stems]


def _names_and_count(root: Path, num_classes):
    """Class names of ``classes.txt`` (or None) and the number of classes (or None)."""
    names = read_classes_file(root)
    if names is not None and num_classes is not None and len(names) != num_classes:
        raise ArgumentError(
            f"{root / 'classes.txt'} names {len(names)} classes but num_classes="
            f"{num_classes}. Received: num_classes={num_classes}. Make them agree."
        )
    count = len(names) if names is not None else num_classes
    return names, count


# ----------------------------------------------------------------------------- masks


def _read_mask(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode not in _MASK_MODES:
                raise DataFileError(
                    f"The label map {path} is a {image.mode} image; a label map holds one "
                    f"class id per pixel. Save it as a grey ('L') or palette ('P') PNG whose "
                    f"values are the class ids."
                )
            return np.asarray(image).astype(np.int64)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        if isinstance(error, DataFileError):
            raise
        raise DataFileError(
            f"Cannot read the label map {path}: {type(error).__name__}: {error}. Replace the "
            f"file with a PNG of class ids."
        ) from error


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size  # (width, height), read from the header only


def _resize_nearest(mask: np.ndarray, size) -> np.ndarray:
    """Nearest-neighbour resize (label maps cannot be interpolated), sample centres."""
    h, w = mask.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(np.int64), w - 1)
    return mask[rows[:, None], cols[None, :]]


def load_segmentation_folder(root, *, size=None, mode=None, num_classes: int | None = None,
                             ignore_index: int = IGNORE_INDEX) -> Dataset:
    """Load images and their label maps: ``root/images/<stem>.*`` with ``root/masks/<stem>.png``.

    A label map is a single-channel image (grey ``L``, palette ``P`` or 16-bit) the size
    of its image whose values are class ids; ``ignore_index`` (255, as in PASCAL VOC's
    PNG label maps) marks pixels that no class claims (borders, "don't know"). Class
    names come from ``root/classes.txt`` when present, else they are ``'0'``, ``'1'``,
    ... up to the largest id found (or ``num_classes``).

    Args:
        root: the folder holding ``images/``, ``masks/`` and optionally ``classes.txt``.
        size: ``(height, width)`` or one int: resize images (bilinear) and label maps
            (nearest neighbour) to it.
        mode: ``"L"`` or ``"RGB"`` to convert every image (as ``load_image_folder``).
        num_classes: the number of classes, when there is no ``classes.txt``.
        ignore_index: the label of unlabelled pixels.

    Shape:
        ``x`` -> ``(N, C, H, W)`` float32; ``y`` -> ``(N, H, W)`` int64.

    Raises:
        DataFileError: an image without a label map or a label map without an image;
            a label map that is not single-channel, is saved lossily (JPEG / WebP) or
            cannot be read; a bad ``classes.txt``.
        ShapeError: a label map whose size differs from its image's.
        ArgumentError: a label map value outside the classes that is not ``ignore_index``.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "masks").mkdir()
        >>> Image.new("L", (4, 3), 200).save(root / "images" / "a.png")
        >>> Image.fromarray(np.array([[0, 1, 1, 255]] * 3, np.uint8)).save(root / "masks" / "a.png")
        >>> _ = (root / "classes.txt").write_text("sky\\ncat\\n")
        >>> ds = load_segmentation_folder(root)
        >>> ds.target, ds.classes, ds.y.shape, ds.y[0, 0].tolist()
        ('segmentation', ('sky', 'cat'), torch.Size([1, 3, 4]), [0, 1, 1, 255])
    """
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ArgumentTypeError(
            f"ignore_index must be an int. Received: ignore_index={ignore_index!r}."
        )
    target = None if size is None else to_tuple(size, 2, "size")
    root = _path(root, "root")
    images, masks = _pair(root, "masks", IMAGE_EXTENSIONS, "label map", ".png")
    for path in masks:
        if path.suffix.lower() in _LOSSY:
            raise DataFileError(
                f"The label map {path} is saved as {path.suffix}, a lossy format that "
                f"changes class ids at edges. Save label maps as PNG."
            )
    names, count = _names_and_count(root, num_classes)
    maps = []
    for image_path, mask_path in zip(images, masks):
        mask = _read_mask(mask_path)
        width, height = _image_size(image_path)
        if mask.shape != (height, width):
            raise ShapeError(
                f"The label map {mask_path} is {mask.shape[1]}x{mask.shape[0]} pixels but "
                f"its image {image_path} is {width}x{height} (width x height); a label map "
                f"must have its image's size. Redraw or resize the label map."
            )
        labelled = mask[mask != ignore_index]
        if labelled.size:
            low, high = int(labelled.min()), int(labelled.max())
            top = count - 1 if count is not None else None
            if low < 0 or (top is not None and high > top):
                value = low if low < 0 else high
                row, col = (int(v) for v in np.argwhere(mask == value)[0])
                source = ("the classes of classes.txt" if names is not None else
                          "num_classes")
                raise ArgumentError(
                    f"The label map {mask_path} holds the value {value} (row {row}, column "
                    f"{col}), outside {source} (0..{top}) and not the ignore value "
                    f"{ignore_index}. Fix the label map or add the class."
                )
        maps.append(_resize_nearest(mask, target) if target is not None else mask)
    array, _, _ = read_images(images, size=target, mode=mode, root=root)
    y = torch.from_numpy(np.stack(maps))
    if count is None:
        labelled = y[y != ignore_index]
        count = int(labelled.max()) + 1 if labelled.numel() else 1
    if 0 <= ignore_index < count:
        raise ArgumentError(
            f"ignore_index={ignore_index} is also a class ({count} classes, 0..{count - 1}). "
            f"Pass an ignore_index outside 0..{count - 1}."
        )
    classes = names if names is not None else tuple(str(k) for k in range(count))
    return Dataset(torch.from_numpy(array), y, classes, name=str(root),
                   target="segmentation", ignore_index=ignore_index)


# ----------------------------------------------------------------------------- boxes


def _read_boxes(path: Path, count: int | None) -> np.ndarray:
    """The boxes of one YOLO label file as float32 ``(k, 5)``; each bad line is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(f"Cannot read the label file {path}: {error}.") from error
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            raise DataFileError(
                f"{path} line {number} is empty. Every line is one box 'class cx cy w h'; "
                f"remove blank lines (an image without objects has an empty file)."
            )
        if len(fields) != 5:
            raise DataFileError(
                f"{path} line {number} has {len(fields)} fields: {line.strip()!r}. Every line "
                f"is one box 'class cx cy w h' (5 fields, coordinates normalised to [0, 1])."
            )
        try:
            cls = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            raise DataFileError(
                f"{path} line {number} is not 'class cx cy w h' with an integer class and "
                f"four numbers: {line.strip()!r}."
            ) from None
        values = np.array([cx, cy, w, h])
        if not np.isfinite(values).all():
            raise DataFileError(
                f"{path} line {number} holds a NaN or infinite coordinate: {line.strip()!r}. "
                f"Write the box's normalised centre and size."
            )
        if cls < 0 or (count is not None and cls >= count):
            limit = f"0..{count - 1}" if count is not None else "0 or more"
            raise DataFileError(
                f"{path} line {number} has the class {cls}, outside the classes {limit}. "
                f"Fix the class id or add the class to classes.txt."
            )
        if w <= 0 or h <= 0:
            raise DataFileError(
                f"{path} line {number} has a box of non-positive size (w={w:g}, h={h:g}). "
                f"Width and height must be > 0; remove the line if the box is empty."
            )
        tol = BOX_TOLERANCE
        if cx - w / 2 < -tol or cy - h / 2 < -tol or cx + w / 2 > 1 + tol or \
                cy + h / 2 > 1 + tol:
            raise DataFileError(
                f"{path} line {number} has a box outside the image: {line.strip()!r} spans "
                f"x {cx - w / 2:g}..{cx + w / 2:g}, y {cy - h / 2:g}..{cy + h / 2:g}. YOLO "
                f"boxes are normalised: every edge must lie in [0, 1]. Clip the box to the "
                f"image or divide pixel coordinates by the image's width and height."
            )
        rows.append((cls, cx, cy, w, h))
    return np.array(rows, dtype=np.float32).reshape(-1, 5)


def load_detection_folder(root, *, size=None, mode=None, num_classes: int | None = None,
                          max_boxes: int | None = None) -> Dataset:
    """Load images and their boxes: ``root/images/<stem>.*`` with ``root/labels/<stem>.txt``.

    The label files follow the YOLO text format (Redmon et al. 2016, as Ultralytics
    writes it): one line per object, ``class cx cy w h``, the centre and size normalised
    by the image's width and height. An empty file is an image without objects. Class
    names come from ``root/classes.txt`` when present. Boxes are normalised, so resizing
    the images (``size``) leaves them as they are.

    Args:
        root: the folder holding ``images/``, ``labels/`` and optionally ``classes.txt``.
        size: ``(height, width)`` or one int to resize every image to (bilinear).
        mode: ``"L"`` or ``"RGB"`` to convert every image.
        num_classes: the number of classes, when there is no ``classes.txt``.
        max_boxes: the most boxes an image may have; ``M`` of ``y`` is it (default: the
            largest count found, at least 1).

    Shape:
        ``x`` -> ``(N, C, H, W)`` float32; ``y`` -> ``(N, M, 5)`` float32, rows
        ``[class, cx, cy, w, h]``, padding rows ``[-1, 0, 0, 0, 0]`` after the boxes.

    Raises:
        DataFileError: an image without a label file or a label file without an image;
            an empty or malformed line, a class outside the classes, a box outside the
            image or of non-positive size, a NaN coordinate (file and line named).
        ArgumentError: an image with more than ``max_boxes`` boxes.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "labels").mkdir()
        >>> for stem in ("a", "b"):
        ...     Image.new("RGB", (8, 8)).save(root / "images" / f"{stem}.png")
        >>> _ = (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.25 0.5\\n0 0.2 0.2 0.2 0.2\\n")
        >>> _ = (root / "labels" / "b.txt").write_text("")
        >>> ds = load_detection_folder(root)
        >>> ds.target, ds.y.shape, ds.y[1, 0].tolist()
        ('detection', torch.Size([2, 2, 5]), [-1.0, 0.0, 0.0, 0.0, 0.0])
    """
    if max_boxes is not None and (isinstance(max_boxes, bool) or not isinstance(max_boxes, int)
                                  or max_boxes < 1):
        raise ArgumentError(f"max_boxes must be a positive int. Received: max_boxes={max_boxes!r}.")
    root = _path(root, "root")
    images, notes = _pair(root, "labels", (".txt",), "label file", ".txt")
    names, count = _names_and_count(root, num_classes)
    boxes = [_read_boxes(path, count) for path in notes]
    most = max(len(b) for b in boxes)
    if max_boxes is not None and most > max_boxes:
        path = notes[[len(b) for b in boxes].index(most)]
        raise ArgumentError(
            f"The label file {path} has {most} boxes, more than max_boxes={max_boxes}. "
            f"Pass max_boxes={most} or more."
        )
    slots = max_boxes or max(most, 1)
    y = np.zeros((len(boxes), slots, 5), np.float32)
    y[:, :, 0] = -1.0
    for k, b in enumerate(boxes):
        y[k, :len(b)] = b
    if count is None:
        count = int(y[..., 0].max()) + 1 if (y[..., 0] >= 0).any() else 1
    array, _, _ = read_images(images, size=size, mode=mode, root=root)
    classes = names if names is not None else tuple(str(k) for k in range(count))
    return Dataset(torch.from_numpy(array), torch.from_numpy(y), classes, name=str(root),
                   target="detection")
