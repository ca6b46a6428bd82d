"""Batch loaders: ``BatchLoader`` keeps a small data set on the device as one tensor and
batches it by indexing; ``StreamingLoader`` reads shards that do not fit in memory,
mixing them through a bounded shuffle buffer.

Both are deterministic: epoch ``k``'s order comes from a generator seeded with
``(seed, k)``, so that a run resumed at epoch ``k`` (even mid-epoch, through
``set_epoch(k, batch=b)`` or ``load_state_dict``) sees the very same batches. The
permutation is drawn on the CPU, so it is the same whichever device holds the data.
"""

from __future__ import annotations

import inspect
import math
import zipfile
from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, positive_int
from .dataset import DataFileError, Dataset, as_dataset
from .sources import list_image_folder, read_images, read_npz, warn_skipped

__all__ = [
    "BatchLoader",
    "ImageFolderShard",
    "NpzShard",
    "StreamingLoader",
    "image_folder_shards",
    "seed_for",
]

_MASK64 = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def seed_for(*values: int) -> int:
    """A 63-bit seed mixed from integers (SplitMix64), e.g. ``seed_for(seed, epoch)``.

    Nearby inputs give unrelated seeds, so epochs 0, 1, 2 ... do not share streams.

    Example:
        >>> seed_for(0, 1) == seed_for(0, 1) != seed_for(0, 2)
        True
    """
    h = 0x243F6A8885A308D3
    for v in values:
        h = _splitmix64(h ^ (int(v) & _MASK64))
    return h & ((1 << 63) - 1)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ArgumentTypeError(f"seed must be an int. Received: seed={seed!r}.")
    return seed


def _takes_generator(transform) -> bool:
    if transform is None:
        return False
    if not callable(transform):
        raise ArgumentTypeError(
            f"transform must be callable (a batch augmentation). Received: "
            f"transform={transform!r}."
        )
    try:
        params = inspect.signature(transform).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class _Resumable:
    """Epoch and batch bookkeeping shared by both loaders."""

    def __init__(self, batch_size, shuffle, drop_last, seed, device, transform):
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = _check_seed(seed)
        self.device = None if device is None else torch.device(device)
        self.transform = transform
        self._transform_takes_generator = _takes_generator(transform)
        self._next = (0, 0)          # (epoch, batch) the next iteration starts at
        self._running: list[int] | None = None  # [epoch, batches done] while iterating

    # -- epochs
    @property
    def epoch(self) -> int:
        """The epoch of the iteration in progress, or of the next one."""
        return self.state_dict()["epoch"]

    def set_epoch(self, epoch: int, batch: int = 0) -> None:
        """Make the next iteration run epoch ``epoch`` from batch ``batch``.

        Without it, every new iteration runs the epoch after the previous one.
        """
        positive_int(epoch, "epoch", allow_zero=True)
        positive_int(batch, "batch", allow_zero=True)
        self._next = (epoch, batch)
        self._running = None

    def state_dict(self) -> dict[str, int]:
        """Where the loader stands: ``{"seed", "epoch", "batch"}`` (JSON-friendly)."""
        if self._running is not None:
            epoch, done = self._running
            try:
                finished = done >= len(self)  # type: ignore[arg-type]
            except TypeError:
                finished = False
            if not finished:
                return {"seed": self.seed, "epoch": epoch, "batch": done}
            return {"seed": self.seed, "epoch": epoch + 1, "batch": 0}
        return {"seed": self.seed, "epoch": self._next[0], "batch": self._next[1]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from ``state_dict()``: the next iteration continues where it stood."""
        if not isinstance(state, dict) or not {"epoch", "batch"} <= set(state):
            raise ArgumentError(
                f"state must be a dict with 'epoch' and 'batch' (from state_dict()). "
                f"Received: state={state!r}."
            )
        if "seed" in state and state["seed"] != self.seed:
            raise ArgumentError(
                f"state was saved by a loader with seed={state['seed']} but this loader has "
                f"seed={self.seed}; its batches would differ. Create the loader with "
                f"seed={state['seed']}."
            )
        self.set_epoch(int(state["epoch"]), int(state["batch"]))

    def _begin(self) -> tuple[int, int, list[int]]:
        epoch, start = self._next
        self._next = (epoch + 1, 0)
        # The token is this iteration's own record; an older iterator that is still
        # consumed later updates its own token, not the loader's state.
        token = [epoch, start]
        self._running = token
        return epoch, start, token

    def _end(self, token: list[int]) -> None:
        if self._running is token:
            self._running = None  # finished: state_dict now points at the next epoch

    def _finish_batch(self, xb, yb, epoch: int, index: int, token: list[int]):
        if self.transform is not None:
            if self._transform_takes_generator:
                gen = torch.Generator(device=xb.device)
                gen.manual_seed(seed_for(self.seed, epoch, index, 1))
                xb = self.transform(xb, generator=gen)
            else:
                xb = self.transform(xb)
        token[1] = index + 1
        return xb if yb is None else (xb, yb)


class BatchLoader(_Resumable):
    """Batches of a data set that lives on the device as one tensor.

    Each epoch draws one permutation (CPU generator seeded from ``(seed, epoch)``) and
    yields ``x[idx], y[idx]`` slices of it: one indexing op per batch, no per-sample
    Python, no worker processes.

    Args:
        x: samples ``(N, ...)`` as a tensor, or a ``Dataset`` (then ``y`` comes from it).
        y: labels ``(N, ...)`` or ``None`` (then batches are ``x`` alone).
        batch_size: samples per batch.
        shuffle: a new order every epoch; ``False`` keeps the data's order.
        drop_last: leave out the last, smaller batch.
        seed: fixes every epoch's order (and the augmentation's random numbers).
        device: where to keep the data (default: where it is).
        transform: a batch augmentation applied to each ``x`` batch on the device; when
            it takes ``generator=``, it gets one seeded from ``(seed, epoch, batch)``.

    Shape:
        yields ``(x[idx], y[idx])`` with ``len(idx) == batch_size`` (the last may be
        smaller unless ``drop_last``).

    Raises:
        ShapeError: ``x`` and ``y`` differ in length.
        ArgumentError: ``batch_size`` not positive.

    Example:
        >>> import torch
        >>> loader = BatchLoader(torch.arange(10.0), torch.arange(10), batch_size=4, seed=0)
        >>> len(loader), [len(xb) for xb, yb in loader]
        (3, [4, 4, 2])
        >>> first = [yb.tolist() for _, yb in loader]      # epoch 1
        >>> loader.set_epoch(1)
        >>> [yb.tolist() for _, yb in loader] == first     # epoch 1 again
        True
    """

    def __init__(self, x, y=None, *, batch_size: int = 64, shuffle: bool = True,
                 drop_last: bool = False, seed: int = 0, device=None,
                 transform: Callable | None = None):
        super().__init__(batch_size, shuffle, drop_last, seed, device, transform)
        if isinstance(x, Dataset):
            if y is not None:
                raise ArgumentError(
                    "y must be None when x is a Dataset (its labels are used). Received: "
                    "a Dataset and y."
                )
            x, y = x.x, x.y
        if not isinstance(x, torch.Tensor):
            raise ArgumentTypeError(
                f"x must be a torch.Tensor or a Dataset. Received: x of type "
                f"{type(x).__name__}. Convert arrays with cnnkit.data.as_dataset(x, y)."
            )
        if y is not None and not isinstance(y, torch.Tensor):
            y = torch.as_tensor(np.asarray(y))
        if x.dim() == 0 or (y is not None and (y.dim() == 0 or y.shape[0] != x.shape[0])):
            raise ShapeError(
                f"x and y must have one row per sample. Received: x of shape "
                f"{tuple(x.shape)} and y of shape {None if y is None else tuple(y.shape)}."
            )
        if self.device is not None:
            x = x.to(self.device)
            y = y.to(self.device) if y is not None else None
        self.x = x.contiguous()
        self.y = y.contiguous() if y is not None else None
        self.num_samples = int(x.shape[0])

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The sample order of epoch ``epoch`` (int64 on the CPU), as iteration uses it."""
        if not self.shuffle:
            return torch.arange(self.num_samples)
        gen = torch.Generator().manual_seed(seed_for(self.seed, epoch))
        return torch.randperm(self.num_samples, generator=gen)

    def __iter__(self) -> Iterator:
        epoch, start, token = self._begin()
        order = self.epoch_order(epoch).to(self.x.device) if self.shuffle else None
        return self._batches(epoch, start, order, token)

    def _batches(self, epoch: int, start: int, order, token) -> Iterator:
        x, y, size = self.x, self.y, self.batch_size
        for index in range(start, len(self)):
            lo, hi = index * size, min((index + 1) * size, self.num_samples)
            if order is None:
                xb = x[lo:hi]
                yb = None if y is None else y[lo:hi]
            else:
                idx = order[lo:hi]
                xb = x.index_select(0, idx)
                yb = None if y is None else y.index_select(0, idx)
            yield self._finish_batch(xb, yb, epoch, index, token)
        self._end(token)

    def __repr__(self) -> str:
        return (f"BatchLoader(n={self.num_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"device={self.x.device})")


# ----------------------------------------------------------------------------- shards


def _npz_length(path: Path, key: str) -> int:
    """The first dimension of ``key`` in an ``.npz``, read from the header only."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, _ = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, _ = np.lib.format.read_array_header_2_0(member)
    except KeyError:
        raise ArgumentError(f"y_key={key!r} is not an array in {path}.") from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataFileError(f"Cannot read {path} as an .npz file: {error}.") from error
    return int(shape[0])


class NpzShard:
    """One ``.npz`` file of a sharded data set, read only when ``load()`` is called.

    Args:
        path: the file.
        x_key, y_key: names of the samples and labels arrays.
        input_shape, channels_last, scale, num_classes: as for ``as_dataset``.
    """

    def __init__(self, path, *, x_key: str = "x", y_key: str = "y", input_shape=None,
                 channels_last: bool = False, scale="auto", num_classes: int | None = None):
        if not isinstance(path, (str, PathLike)):
            raise ArgumentTypeError(
                f"a shard must be a path to an .npz file or a shard object with load(). "
                f"Received: {path!r} ({type(path).__name__})."
            )
        self.path = Path(path)
        self.x_key, self.y_key = x_key, y_key
        self._options = dict(input_shape=input_shape, channels_last=channels_last,
                             scale=scale, num_classes=num_classes)
        self._len: int | None = None
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        if self._len is None:
            if not self.path.is_file():
                raise DataFileError(f"No such .npz file: {self.path}.")
            self._len = _npz_length(self.path, self.y_key)
        return self._len

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = read_npz(self.path, self.x_key, self.y_key)
        ds = as_dataset(x, y, name=str(self.path), **self._options)
        return ds.x, ds.y

    def __repr__(self) -> str:
        return f"NpzShard({str(self.path)!r})"


class ImageFolderShard:
    """A chunk of an image folder's files, read only when ``load()`` is called."""

    def __init__(self, files: Sequence[Path], labels: np.ndarray, classes: tuple[str, ...],
                 *, root: Path, size=None, mode=None, input_shape=None, on_error="raise"):
        self.files = list(files)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.classes = classes
        self.root = root
        self._options = dict(size=size, mode=mode, input_shape=input_shape, on_error=on_error)
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        """The number of files (an upper bound when unreadable ones are skipped)."""
        return len(self.files)

    def load(self) -> tuple[torch.Tensor, torch.Tensor]:
        array, kept, skipped = read_images(self.files, root=self.root, **self._options)
        self.skipped = skipped
        return torch.from_numpy(array), torch.from_numpy(self.labels[kept])

    def __repr__(self) -> str:
        return f"ImageFolderShard({len(self.files)} files under {str(self.root)!r})"


def image_folder_shards(root, *, chunk_size: int = 1024, seed: int = 0, size=None, mode=None,
                        input_shape=None, on_error: str = "raise") -> list[ImageFolderShard]:
    """Split an image folder (``root/<class>/<image>``) into lazily read shards.

    The file list is shuffled once with ``seed`` before it is cut into chunks of
    ``chunk_size`` files, so that every shard mixes the classes (a folder is sorted by
    class; chunks of the sorted list would each hold one class).

    Args:
        root: the folder; classes are its sorted sub-folder names.
        chunk_size: files per shard.
        seed: fixes which files go into which shard.
        size, mode, input_shape, on_error: as for ``load_image_folder``.

    Raises:
        ArgumentError: as ``load_image_folder`` for a folder without images or classes.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for cls in ("a", "b"):
        ...     (root / cls).mkdir()
        ...     for k in range(5):
        ...         Image.new("L", (4, 4), 40 * k).save(root / cls / f"{k}.png")
        >>> shards = image_folder_shards(root, chunk_size=4)
        >>> [len(s) for s in shards], shards[0].classes
        ([4, 4, 2], ('a', 'b'))
    """
    positive_int(chunk_size, "chunk_size")
    files, labels, classes = list_image_folder(root)
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(
        seed_for(_check_seed(seed)))).numpy()
    shards = []
    for lo in range(0, len(files), chunk_size):
        rows = order[lo:lo + chunk_size]
        shards.append(ImageFolderShard([files[k] for k in rows], labels[rows], classes,
                                       root=Path(root), size=size, mode=mode,
                                       input_shape=input_shape, on_error=on_error))
    return shards


class StreamingLoader(_Resumable):
    """Batches from shards that are read one at a time, with a bounded shuffle buffer.

    Each epoch visits the shards in an order drawn from ``(seed, epoch)``. A shard's
    samples join a buffer; whenever the buffer holds more than ``buffer_size`` samples
    it is permuted and full batches are taken from it until at most ``buffer_size``
    remain, so that samples of consecutive shards mix. Memory stays below
    ``buffer_size + batch_size`` samples plus one shard. For a good mix make the buffer
    at least as large as a shard.

    Args:
        shards: ``.npz`` paths, or objects with ``load() -> (x, y)`` (``NpzShard``,
            ``ImageFolderShard`` from ``image_folder_shards``, your own).
        batch_size: samples per batch.
        buffer_size: samples held back for mixing (0 with ``shuffle=False``).
        shuffle: shuffle shards and samples; ``False`` streams in order.
        drop_last: leave out the last, smaller batch of the epoch.
        seed: fixes every epoch's order.
        device: where batches go (the buffer stays in host memory).
        transform: batch augmentation, as for ``BatchLoader``.
        x_key, y_key, input_shape, channels_last, scale: how ``.npz`` paths are read.

    Shape:
        yields ``(x, y)`` batches of ``batch_size`` samples (the last may be smaller).

    Raises:
        ArgumentError: no shards; ``buffer_size`` negative.
        ArgumentTypeError: a shard is neither a path nor has ``load()``.

    Example:
        >>> import numpy as np, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> paths = []
        >>> for k in range(3):
        ...     paths.append(os.path.join(folder, f"part{k}.npz"))
        ...     np.savez(paths[-1], x=np.full((10, 4), k / 3, np.float32), y=np.full(10, k))
        >>> loader = StreamingLoader(paths, batch_size=8, buffer_size=10, seed=1)
        >>> len(loader), sum(len(yb) for _, yb in loader)
        (4, 30)
    """

    def __init__(self, shards: Sequence, *, batch_size: int = 64, buffer_size: int = 10_000,
                 shuffle: bool = True, drop_last: bool = False, seed: int = 0, device=None,
                 transform: Callable | None = None, x_key: str = "x", y_key: str = "y",
                 input_shape=None, channels_last: bool = False, scale="auto"):
        super().__init__(batch_size, shuffle, drop_last, seed, device, transform)
        if isinstance(shards, (str, PathLike)) or not isinstance(shards, Sequence):
            raise ArgumentTypeError(
                f"shards must be a list of .npz paths or shard objects. Received: "
                f"shards={shards!r}. Wrap a single file in a list: shards=[path]."
            )
        if not shards:
            raise ArgumentError("shards must hold at least one shard. Received: shards=[].")
        self.buffer_size = positive_int(buffer_size, "buffer_size", allow_zero=True)
        self.shards = [
            s if hasattr(s, "load") else NpzShard(s, x_key=x_key, y_key=y_key,
                                                  input_shape=input_shape,
                                                  channels_last=channels_last, scale=scale)
            for s in shards
        ]
        self.skipped: list[tuple[str, str]] = []

    @property
    def num_samples(self) -> int:
        """Samples per epoch; needs every shard to have ``len()``."""
        try:
            return sum(len(s) for s in self.shards)
        except TypeError:
            raise TypeError(
                "the length of a StreamingLoader needs every shard to have len(); "
                "give your shard objects a __len__."
            ) from None

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self) -> Iterator:
        epoch, start, token = self._begin()
        return self._batches(epoch, start, token)

    def _batches(self, epoch: int, start: int, token) -> Iterator:
        gen = torch.Generator().manual_seed(seed_for(self.seed, epoch))
        count = len(self.shards)
        order = torch.randperm(count, generator=gen).tolist() if self.shuffle else range(count)
        keep = self.buffer_size if self.shuffle else 0
        size = self.batch_size
        buf_x: torch.Tensor | None = None
        buf_y: torch.Tensor | None = None
        index = 0
        self.skipped = []
        for k in order:
            x, y = self.shards[k].load()
            self.skipped.extend(getattr(self.shards[k], "skipped", []))
            if buf_x is not None and buf_x.shape[1:] != x.shape[1:]:
                raise ShapeError(
                    f"Shard {self.shards[k]!r} holds samples of shape {tuple(x.shape[1:])} "
                    f"but earlier shards hold {tuple(buf_x.shape[1:])}; every shard must "
                    f"have the same sample shape."
                )
            buf_x = x if buf_x is None else torch.cat([buf_x, x])
            buf_y = y if buf_y is None else torch.cat([buf_y, y])
            ready = (len(buf_y) - keep) // size
            if ready <= 0:
                continue
            if self.shuffle:
                perm = torch.randperm(len(buf_y), generator=gen)
                buf_x, buf_y = buf_x[perm], buf_y[perm]
            for b in range(ready):
                if index >= start:
                    yield self._emit(buf_x[b * size:(b + 1) * size],
                                     buf_y[b * size:(b + 1) * size], epoch, index, token)
                index += 1
            buf_x, buf_y = buf_x[ready * size:], buf_y[ready * size:]
        if buf_y is not None and len(buf_y):
            if self.shuffle:
                perm = torch.randperm(len(buf_y), generator=gen)
                buf_x, buf_y = buf_x[perm], buf_y[perm]
            for lo in range(0, len(buf_y), size):
                if len(buf_y) - lo < size and self.drop_last:
                    break
                if index >= start:
                    yield self._emit(buf_x[lo:lo + size], buf_y[lo:lo + size], epoch, index,
                                     token)
                index += 1
        self._end(token)
        if self.skipped:
            warn_skipped(self.skipped, self._files_total(), "the shards")

    def _files_total(self) -> int:
        try:
            return self.num_samples
        except TypeError:
            return len(self.skipped)

    def _emit(self, xb, yb, epoch, index, token):
        if self.device is not None:
            xb = xb.to(self.device, non_blocking=True)
            yb = yb.to(self.device, non_blocking=True)
        return self._finish_batch(xb, yb, epoch, index, token)

    def __repr__(self) -> str:
        return (f"StreamingLoader(shards={len(self.shards)}, batch_size={self.batch_size}, "
                f"buffer_size={self.buffer_size}, shuffle={self.shuffle}, seed={self.seed})")
