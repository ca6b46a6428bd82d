"""Data sets made of real MNIST digits placed on larger canvases: scenes, localisation, clips.

Every set here is drawn from the 5,000 real MNIST digits of ``mnist5k.npz`` (the file
cnnkit ships, checked by its SHA-256 first). Training samples use only the digits of
mnist5k's training split and test samples only those of its test split, so that no test
digit is ever seen in training. Nothing is invented but the layout: where a digit goes,
how large it is drawn and, for clips, how it moves.

Determinism: one ``numpy.random.default_rng`` per set with a fixed seed, drawing only
integers; digits are resized by an antialiased bilinear (triangle) filter computed with
element-wise float64 arithmetic in a fixed order (no BLAS, no transcendental functions),
so that the same numpy gives the same bytes on every machine.

This module needs numpy only. ``build_data_files.py`` calls it and writes the files;
the test suite calls it to check that the shipped arrays are exactly what it makes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

__all__ = ["INK", "MNIST5K_SHA256", "make_clips", "make_locate", "make_scenes",
           "read_mnist5k", "resize"]

MNIST5K_SHA256 = "832a7e80e92d73f0aad4ff6fdd338078829e7cce2af0bfa5dbc1082d547680f7"
INK = 128  # a resized pixel >= INK (of 255) is ink: it decides label maps and tight boxes

SCENES_SEED, LOCATE_SEED, CLIPS_SEED = 1, 2, 3
MOTIONS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")
# One step per frame, image coordinates (x to the right, y downwards), in MOTIONS order.
_STEPS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


def read_mnist5k(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``mnist5k.npz`` after checking its SHA-256."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST5K_SHA256:
        raise SystemExit(f"{path} has SHA-256 {digest}, expected {MNIST5K_SHA256}")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


# ----------------------------------------------------------------------------- resizing


def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights ``(n_out, taps)`` of a triangle filter from n_in to n_out samples.

    Output sample ``i`` is centred at input coordinate ``(i + 0.5) * n_in / n_out``; when
    shrinking, the triangle widens to ``n_in / n_out`` input pixels (antialiasing).
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    rows = []
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo, hi = int(np.floor(centre - support)), int(np.ceil(centre + support))
        pairs = []
        for j in range(lo, hi + 1):
            w = 1.0 - abs((j + 0.5 - centre) / support)
            if w > 0.0 and 0 <= j < n_in:
                pairs.append((j, w))
        total = 0.0
        for _, w in pairs:
            total += w
        rows.append([(j, w / total) for j, w in pairs])
    width = max(len(r) for r in rows)
    index = np.zeros((n_out, width), np.int64)
    weight = np.zeros((n_out, width), np.float64)
    for i, row in enumerate(rows):
        for t, (j, w) in enumerate(row):
            index[i, t], weight[i, t] = j, w
    return index, weight


_TAPS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """A square uint8 image resized to ``size x size`` (triangle filter), uint8."""
    n = image.shape[0]
    if (n, size) not in _TAPS:
        _TAPS[(n, size)] = _taps(n, size)
    index, weight = _TAPS[(n, size)]
    src = image.astype(np.float64)
    rows = np.zeros((size, n))
    for t in range(index.shape[1]):  # rows first, one tap at a time: a fixed order
        rows += weight[:, t, None] * src[index[:, t], :]
    out = np.zeros((size, size))
    for t in range(index.shape[1]):
        out += weight[None, :, t] * rows[:, index[:, t]]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _ink_box(digit: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of the ink pixels, bottom/right exclusive."""
    ys, xs = np.nonzero(digit >= INK)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def _drawn(rng, x: np.ndarray, pool: np.ndarray, low: int, high: int):
    """A random digit of ``pool`` resized to a random size in ``low..high``.

    A thin digit shrunk far may keep no pixel >= ``INK``; such a draw is drawn again.
    """
    while True:
        row = int(pool[rng.integers(len(pool))])
        size = int(rng.integers(low, high + 1))
        digit = resize(x[row], size)
        if (digit >= INK).any():
            return row, digit, _ink_box(digit)


def _paste(image: np.ndarray, digit: np.ndarray, top: int, left: int) -> None:
    """Composite ``digit`` onto ``image`` at ``(top, left)`` by maximum, clipped to it."""
    h, w = image.shape
    size = digit.shape[0]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + size, h), min(left + size, w)
    window = image[y0:y1, x0:x1]
    np.maximum(window, digit[y0 - top:y1 - top, x0 - left:x1 - left], out=window)


# ----------------------------------------------------------------------------- scenes


def _scene(rng, x, y, pool, canvas: int, max_digits: int, low: int, high: int):
    """One canvas with 1..max_digits digits whose ink boxes do not touch."""
    image = np.zeros((canvas, canvas), np.uint8)
    mask = np.zeros((canvas, canvas), np.uint8)
    boxes = np.zeros((max_digits, 5), np.float32)
    boxes[:, 0] = -1.0
    rows = np.full(max_digits, -1, np.int16)
    wanted = int(rng.integers(1, max_digits + 1))
    taken: list[tuple[int, int, int, int]] = []
    for _ in range(wanted):
        box = None
        for _draw in range(5):  # a digit, then up to 20 places for it; else another digit
            row, digit, (t, l, b, r) = _drawn(rng, x, pool, low, high)
            size = digit.shape[0]
            for _place in range(20):
                top = int(rng.integers(0, canvas - size + 1))
                left = int(rng.integers(0, canvas - size + 1))
                here = (top + t, left + l, top + b, left + r)
                # One free pixel between ink boxes: label maps and boxes stay unambiguous.
                if all(here[0] > o[2] or here[2] < o[0] or here[1] > o[3] or here[3] < o[1]
                       for o in taken):
                    box = here
                    break
            if box is not None:
                break
        if box is None:
            continue  # no room found: the scene keeps fewer digits
        k = len(taken)
        taken.append(box)
        window = image[top:top + size, left:left + size]
        np.maximum(window, digit, out=window)
        label = int(y[row])
        mask[top:top + size, left:left + size][digit >= INK] = label + 1
        bt, bl, bb, br = box
        boxes[k] = (label, (bl + br) / 2 / canvas, (bt + bb) / 2 / canvas,
                    (br - bl) / canvas, (bb - bt) / canvas)
        rows[k] = row
    return image, mask, boxes, rows


def make_scenes(mnist: dict[str, np.ndarray], n_train: int = 3000, n_test: int = 600, *,
                canvas: int = 48, max_digits: int = 4, low: int = 14, high: int = 28,
                seed: int = SCENES_SEED) -> dict[str, np.ndarray]:
    """Scenes of 1..4 real digits, with three views: label maps, boxes, digits present.

    Each digit is a random mnist5k digit of its split, its 28x28 frame resized to
    ``low..high`` pixels, put at a random place where its ink box keeps one pixel away
    from the others' (composited by maximum); a digit gets up to 20 places, and after 5
    digits without room the scene keeps fewer digits. Pixels >= ``INK`` of a digit are labelled
    ``digit + 1`` (0 is background); its box is the tight box of those pixels.

    Returns the arrays of the file: ``x`` uint8 (N, H, W), ``masks`` uint8 (N, H, W),
    ``boxes`` float32 (N, max_digits, 5) ``[class, cx, cy, w, h]`` normalised, class -1
    for padding rows, ``labels`` uint8 (N, 10) digits present, ``sources`` int16
    (N, max_digits) mnist5k rows (-1 padding), ``train`` / ``test`` row indices.
    """
    rng = np.random.default_rng(seed)
    x, y = mnist["x"], mnist["y"]
    parts = []
    for pool, count in ((mnist["train"], n_train), (mnist["test"], n_test)):
        parts.extend(_scene(rng, x, y, pool, canvas, max_digits, low, high)
                     for _ in range(count))
    images, masks, boxes, rows = (np.stack(a) for a in zip(*parts))
    labels = np.zeros((len(boxes), 10), np.uint8)
    real = boxes[:, :, 0] >= 0
    labels[np.nonzero(real)[0], boxes[:, :, 0][real].astype(np.int64)] = 1
    n = n_train + n_test
    return dict(x=images, masks=masks, boxes=boxes, labels=labels, sources=rows,
                train=np.arange(n_train, dtype=np.uint16),
                test=np.arange(n_train, n, dtype=np.uint16))


# ----------------------------------------------------------------------------- localisation


def make_locate(mnist: dict[str, np.ndarray], n_train: int = 2000, n_test: int = 500, *,
                canvas: int = 48, low: int = 12, high: int = 36,
                seed: int = LOCATE_SEED) -> dict[str, np.ndarray]:
    """One real digit per canvas; the targets are where it is and how large: its box.

    The digit's frame is resized to ``low..high`` pixels and put at a random place inside
    the canvas. ``y`` is the tight ink box ``(cx, cy, w, h)`` normalised by the canvas
    size, float32 (N, 4); ``digit`` keeps its class and ``sources`` its mnist5k row.
    """
    rng = np.random.default_rng(seed)
    x, y = mnist["x"], mnist["y"]
    images = np.zeros((n_train + n_test, canvas, canvas), np.uint8)
    targets = np.zeros((n_train + n_test, 4), np.float32)
    digits = np.zeros(n_train + n_test, np.uint8)
    rows = np.zeros(n_train + n_test, np.int16)
    k = 0
    for pool, count in ((mnist["train"], n_train), (mnist["test"], n_test)):
        for _ in range(count):
            row, digit, (t, l, b, r) = _drawn(rng, x, pool, low, high)
            size = digit.shape[0]
            top = int(rng.integers(0, canvas - size + 1))
            left = int(rng.integers(0, canvas - size + 1))
            images[k, top:top + size, left:left + size] = digit
            targets[k] = ((2 * left + l + r) / 2 / canvas, (2 * top + t + b) / 2 / canvas,
                          (r - l) / canvas, (b - t) / canvas)
            digits[k], rows[k] = y[row], row
            k += 1
    return dict(x=images, y=targets, digit=digits, sources=rows,
                train=np.arange(n_train, dtype=np.uint16),
                test=np.arange(n_train, n_train + n_test, dtype=np.uint16))


# ----------------------------------------------------------------------------- clips


def make_clips(mnist: dict[str, np.ndarray], n_train: int = 2000, n_test: int = 500, *,
               frames: int = 8, canvas: int = 32, low: int = 16, high: int = 20,
               seed: int = CLIPS_SEED) -> dict[str, np.ndarray]:
    """Clips of one real digit moving in a straight line, labelled by digit and by motion.

    Per clip: a random mnist5k digit of its split, resized to ``low..high`` pixels; one of
    eight directions (``MOTIONS``) and a speed of 1 or 2 pixels per frame along each axis
    that moves; a start chosen so that the ink stays inside the canvas in every frame.

    Returns ``x`` uint8 (N, frames, H, W), ``digit`` and ``motion`` uint8 (N,),
    ``speed`` uint8, ``sources`` int16 mnist5k rows, ``train`` / ``test`` indices.
    """
    rng = np.random.default_rng(seed)
    x, y = mnist["x"], mnist["y"]
    n = n_train + n_test
    clips = np.zeros((n, frames, canvas, canvas), np.uint8)
    digits = np.zeros(n, np.uint8)
    motions = np.zeros(n, np.uint8)
    speeds = np.zeros(n, np.uint8)
    rows = np.zeros(n, np.int16)
    k = 0
    for pool, count in ((mnist["train"], n_train), (mnist["test"], n_test)):
        for _ in range(count):
            row, digit, (t, l, b, r) = _drawn(rng, x, pool, low, high)
            motion, speed = int(rng.integers(8)), int(rng.integers(1, 3))
            dx, dy = (speed * s for s in _STEPS[motion])
            travel_x, travel_y = dx * (frames - 1), dy * (frames - 1)
            # Start range of the ink box's top-left so that every frame keeps it inside.
            x0 = int(rng.integers(max(0, -travel_x), canvas - (r - l) - max(0, travel_x) + 1))
            y0 = int(rng.integers(max(0, -travel_y), canvas - (b - t) - max(0, travel_y) + 1))
            for f in range(frames):
                # The frame's margins around the ink may leave the canvas; the ink never does.
                _paste(clips[k, f], digit, y0 + dy * f - t, x0 + dx * f - l)
            digits[k], motions[k], speeds[k], rows[k] = y[row], motion, speed, row
            k += 1
    return dict(x=clips, digit=digits, motion=motions, speed=speeds, sources=rows,
                train=np.arange(n_train, dtype=np.uint16),
                test=np.arange(n_train, n, dtype=np.uint16))
