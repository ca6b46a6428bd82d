"""Audio for WaveNet-style generators: mu-law classes, resampling and the bundled speech.

WaveNet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio", sec. 2.2)
predicts each sample of a waveform as one of 256 classes: the signal in [-1, 1] is
companded with the mu-law curve of ITU-T G.711,

    F(x) = sign(x) * ln(1 + mu |x|) / ln(1 + mu),    mu = 255,

and F(x) in [-1, 1] is quantised uniformly to 0..mu. This module provides:

- ``mu_law_encode`` / ``mu_law_decode``: that curve and its inverse (the continuous
  formula above, not G.711's 8-segment table).
- ``resample``: rational-ratio resampling with a Kaiser-windowed sinc low-pass filter,
  so that content above the new Nyquist frequency is removed instead of aliased.
- ``load_speech(split, window, hop)``: the bundled speech (the voice prompts of Debian's
  ``alsa-utils``) cut into windows of mu-law classes with next-sample targets.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int
from .dataset import DataFileError, Dataset

__all__ = ["load_speech", "mu_law_decode", "mu_law_encode", "resample", "speech_clips"]


def _mu(mu) -> int:
    mu = positive_int(mu, "mu")
    if mu < 2:
        raise ArgumentError(f"mu must be at least 2 (mu + 1 classes). Received: mu={mu}.")
    return mu


def mu_law_encode(x, mu: int = 255) -> torch.Tensor:
    """Compand samples in [-1, 1] with the mu-law curve and quantise to ``0 .. mu``.

    ``q = floor((F(x) + 1) / 2 * mu + 1/2)`` with ``F`` the curve in the module summary;
    silence (0) maps to ``ceil(mu / 2)`` (128 for mu = 255).

    Args:
        x: samples in [-1, 1], array or tensor of any shape.
        mu: the curve's parameter; ``mu + 1`` classes.

    Shape:
        Same as ``x``; int64.

    Raises:
        ArgumentError: samples outside [-1, 1] or not finite (divide by the peak or clip
            first), or ``mu`` < 2.

    Example:
        >>> mu_law_encode([-1.0, -0.5, 0.0, 0.01, 0.5, 1.0]).tolist()
        [0, 16, 128, 157, 239, 255]
    """
    mu = _mu(mu)
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if not (t.is_floating_point() or t.dtype in (torch.int8, torch.int16, torch.int32,
                                                  torch.int64, torch.uint8)):
        raise ArgumentTypeError(f"x must hold numbers. Received: x of dtype {t.dtype}.")
    t = t.to(torch.float64)
    if t.numel() and (not bool(torch.isfinite(t).all()) or float(t.abs().max()) > 1.0):
        bad = t[~torch.isfinite(t) | (t.abs() > 1.0)][0]
        raise ArgumentError(
            f"x must lie in [-1, 1]. Received: a sample of {float(bad):g}. Divide the "
            f"signal by its peak (or by the full scale of its integer type, e.g. 32768 for "
            f"16-bit PCM) or clip it first."
        )
    f = torch.sign(t) * torch.log1p(mu * t.abs()) / math.log1p(mu)
    return torch.floor((f + 1.0) / 2.0 * mu + 0.5).to(torch.int64)


def mu_law_decode(q, mu: int = 255) -> torch.Tensor:
    """The sample value of each mu-law class: the inverse curve at the class's level.

    ``y = 2 q / mu - 1`` and ``x = sign(y) ((1 + mu) ** |y| - 1) / mu``.

    Args:
        q: classes ``0 .. mu``, array or tensor of any shape.
        mu: the curve's parameter.

    Shape:
        Same as ``q``; float32 in [-1, 1].

    Raises:
        ArgumentError: a class outside ``0 .. mu``.

    Example:
        >>> [round(v, 6) for v in mu_law_decode([0, 128, 255]).tolist()]
        [-1.0, 8.6e-05, 1.0]
    """
    mu = _mu(mu)
    t = torch.as_tensor(np.asarray(q) if not isinstance(q, torch.Tensor) else q)
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise ArgumentTypeError(
            f"q must hold integer classes 0..{mu}. Received: q of dtype {t.dtype}."
        )
    if t.numel() and (int(t.min()) < 0 or int(t.max()) > mu):
        bad = int(t[(t < 0) | (t > mu)][0])
        raise ArgumentError(f"q must hold classes 0..{mu}. Received: the class {bad}.")
    y = 2.0 * t.to(torch.float64) / mu - 1.0
    x = torch.sign(y) * (torch.pow(1.0 + mu, y.abs()) - 1.0) / mu
    return x.to(torch.float32)


def resample(x, orig_rate: int, new_rate: int, *, zeros: int = 16, rolloff: float = 0.945,
             beta: float = 8.6) -> np.ndarray:
    """Resample a 1-D signal by a rational factor with an anti-aliasing low-pass filter.

    Conceptually: insert ``up - 1`` zeros between samples, low-pass filter, keep every
    ``down``-th sample, with ``up / down = new_rate / orig_rate`` in lowest terms. The
    filter is a sinc cut off at ``rolloff`` times the lower of the two Nyquist
    frequencies, spanning ``zeros`` zero crossings each side, under a Kaiser window
    (``beta`` = 8.6: about 90 dB of stop-band attenuation); it is evaluated only where it
    meets real samples (polyphase form), so no zero-stuffed signal is built. The signal
    is taken as zero outside its ends.

    Args:
        x: samples, 1-D.
        orig_rate: the rate of ``x`` in Hz.
        new_rate: the rate wanted.
        zeros: zero crossings of the sinc on each side (longer: sharper cut-off).
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in (0, 1].
        beta: Kaiser window parameter.

    Shape:
        ``(L,)`` -> ``(ceil(L * new_rate / orig_rate),)`` float64.

    Raises:
        ShapeError: ``x`` is not 1-D.
        ArgumentError: a rate is not a positive int, or ``rolloff`` is outside (0, 1].

    Example:
        >>> t = np.arange(4800) / 48000
        >>> y = resample(np.sin(2 * np.pi * 440 * t), 48000, 16000)
        >>> y.shape, bool(abs(y[800] - np.sin(2 * np.pi * 440 * 800 / 16000)) < 1e-3)
        ((1600,), True)
    """
    orig_rate = positive_int(orig_rate, "orig_rate")
    new_rate = positive_int(new_rate, "new_rate")
    zeros = positive_int(zeros, "zeros")
    if isinstance(rolloff, bool) or not isinstance(rolloff, (int, float)) or \
            not 0.0 < rolloff <= 1.0:
        raise ArgumentError(f"rolloff must be in (0, 1]. Received: rolloff={rolloff!r}.")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ShapeError(
            f"x must be one channel, 1-D. Received: x of shape {x.shape}. Resample each "
            f"channel on its own (or average them first)."
        )
    g = math.gcd(orig_rate, new_rate)
    up, down = new_rate // g, orig_rate // g
    if up == down:
        return x.copy()
    # The low-pass filter at the upsampled rate (up * orig_rate): cut-off as a fraction
    # of that rate's Nyquist frequency, and a half-length of `zeros` sinc periods.
    cutoff = rolloff / max(up, down)
    half = int(math.ceil(zeros / cutoff))
    n_out = -(-len(x) * up // down)
    # Output k sits at upsampled index t = k * down; input j sits at j * up and weighs
    # h(t - j * up) when |t - j * up| <= half. With j = j0 + i (j0 the first input in
    # reach), t - j * up = r - i * up where r = t - j0 * up takes at most `up` values:
    # one row of weights per value (the polyphase filter bank), and a loop over taps.
    t = np.arange(n_out, dtype=np.int64) * down
    j0 = -(-(t - half) // up)                                        # ceil division
    r = t - j0 * up
    phases, row = np.unique(r, return_inverse=True)
    taps = 2 * half // up + 1
    offset = phases[:, None] - np.arange(taps) * up                  # (phases, taps)
    window = np.kaiser(2 * half + 1, beta)
    inside = np.abs(offset) <= half
    bank = np.where(inside, up * cutoff * np.sinc(cutoff * offset)
                    * window[np.clip(offset + half, 0, 2 * half)], 0.0)
    pad = taps + 1  # zeros around the signal: every j0 + i lands inside the array
    padded = np.concatenate([np.zeros(pad), x, np.zeros(pad + taps)])
    y = np.zeros(n_out)
    for i in range(taps):
        y += bank[row, i] * padded[j0 + i + pad]
    return y


# ----------------------------------------------------------------------------- bundled set

_CLIPS: dict[str, dict] = {}


def _read_bundled() -> dict:
    import io
    import zipfile

    from . import datasets
    from ._files import read_verified

    info = datasets.dataset_info("alsa_speech")
    path = datasets._FILES_DIR / info.file
    key = str(path)
    if key not in _CLIPS:
        raw = read_verified(path, info.sha256, info.name)
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
                audio, offsets = archive["audio"], archive["offsets"]
                names, test = archive["names"].tolist(), archive["test"].astype(bool)
                rate = int(archive["sample_rate"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise DataFileError(
                f"Cannot read the data file of {info.name!r}: {path}: {error}."
            ) from error
        clips = {name: audio[offsets[k]:offsets[k + 1]] for k, name in enumerate(names)}
        _CLIPS[key] = {"clips": clips, "test": dict(zip(names, test.tolist())),
                       "rate": rate, "info": info}
    return _CLIPS[key]


def speech_clips(split: str = "all") -> dict[str, torch.Tensor]:
    """The bundled recordings whole, as uint8 mu-law classes at 16 kHz, by name.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.

    Raises:
        ArgumentError: unknown ``split``.

    Example:
        >>> clips = speech_clips("test")
        >>> sorted(clips), clips["Side_Right"].dtype
        (['Rear_Center', 'Side_Right'], torch.uint8)
    """
    from .datasets import SPLITS

    one_of(split, SPLITS, "split")
    content = _read_bundled()
    return {name: torch.from_numpy(clip.copy()) for name, clip in content["clips"].items()
            if split == "all" or content["test"][name] == (split == "test")}


def load_speech(split: str = "train", *, window: int = 2048, hop: int | None = None,
                device=None) -> Dataset:
    """The bundled speech as windows of mu-law classes with next-sample targets.

    Each recording (a whole file; the split is by file, 6 train and 2 test) is cut into
    windows of ``window + 1`` consecutive samples starting at 0, ``hop``, ``2 hop``, ...
    (only whole windows); ``x`` is a window's first ``window`` samples and ``y`` its last
    ``window``: at every step, the class of the sample that follows.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        window: samples per window (at 16 kHz: 2048 is 0.128 s).
        hop: distance between window starts (default ``window // 2``).
        device: where to put the tensors (default: CPU).

    Shape:
        ``x``: ``(N, window)`` int64 classes 0..255; ``y``: ``(N, window)`` int64.

    Raises:
        ArgumentError: unknown ``split``; ``window`` or ``hop`` < 1; a window longer
            than every recording.

    Example:
        >>> train = load_speech("train")
        >>> train.x.shape[1], train.info["sample_rate"]
        (2048, 16000)
        >>> bool((train.x[:, 1:] == train.y[:, :-1]).all())  # y: the next sample
        True
    """
    from .datasets import SPLITS

    one_of(split, SPLITS, "split")
    window = positive_int(window, "window")
    hop = max(window // 2, 1) if hop is None else positive_int(hop, "hop")
    content = _read_bundled()
    clips = speech_clips(split)
    longest = max(len(c) for c in clips.values())
    if window + 1 > longest:
        raise ArgumentError(
            f"window={window} is longer than every recording of the {split!r} split (the "
            f"longest has {longest} samples, so window <= {longest - 1}). Pass a smaller "
            f"window."
        )
    pieces = []
    for clip in clips.values():
        starts = torch.arange(0, len(clip) - window, hop)
        pieces.append(clip.long()[starts[:, None] + torch.arange(window + 1)])
    windows = torch.cat(pieces)
    x, y = windows[:, :-1].contiguous(), windows[:, 1:].contiguous()
    if device is not None:
        x, y = x.to(device), y.to(device)
    info = content["info"]
    meta = {"description": info.description, "licence": info.licence,
            "sample_rate": content["rate"], "window": window, "hop": hop,
            "files": tuple(clips)}
    # A class per position (the next sample); every class 0..255 is real, so no position
    # is marked "ignore" (the default ignore value 255 is a mu-law class here).
    return Dataset(x, y, tuple(str(k) for k in range(256)), name="alsa_speech",
                   split=split, info=meta, target="segmentation", ignore_index=-1)
