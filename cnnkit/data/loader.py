"""Batch loaders: ``BatchLoader`` keeps a small data set on the device as one tensor and
batches it by indexing; ``StreamingLoader`` reads shards (``cnnkit.data.shards``) that do
not fit in memory, in worker processes, each process of a torchrun job its own share,
mixing them through bounded shuffle windows.

Both are deterministic: epoch ``k``'s order comes from a generator seeded with
``(seed, k)``, so that a run resumed at epoch ``k`` (even mid-epoch, through
``set_epoch(k, batch=b)`` or ``load_state_dict``) sees the very same batches. The
permutation is drawn on the CPU, so it is the same whichever device holds the data.
"""

from __future__ import annotations

import bisect
import inspect
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from typing import Any

import numpy as np
import torch
import torch.utils.data

from .._validation import (ArgumentError, ArgumentTypeError, CnnkitError, ShapeError, one_of,
                           positive_int)
from .dataset import DataFileError, Dataset
from .shards import (ImageFolderShard, NpzShard, TarShard, image_folder_shards, read_shard,
                     worker_count)
from .sources import SkippedFilesWarning

__all__ = [
    "BatchLoader",
    "ImageFolderShard",
    "NpzShard",
    "StreamingLoader",
    "TarShard",
    "check_streaming",
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


# ----------------------------------------------------------------------------- streaming


def _process_group(rank, world_size) -> tuple[int, int]:
    """This process's rank and the number of processes: given, from torch.distributed, or
    from torchrun's RANK / WORLD_SIZE."""
    if rank is None and world_size is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    world_size = positive_int(1 if world_size is None else world_size, "world_size")
    rank = positive_int(0 if rank is None else rank, "rank", allow_zero=True)
    if rank >= world_size:
        raise ArgumentError(f"rank must be below world_size. Received: rank={rank}, "
                            f"world_size={world_size}.", argument="rank")
    return rank, world_size


def _as_shard(item, options: dict):
    if hasattr(item, "read") or hasattr(item, "load"):
        return item
    if isinstance(item, (str, PathLike)) and str(item).endswith((".tar", ".tar.gz", ".tgz")):
        return TarShard(item)
    return NpzShard(item, **options)


class _ShardTasks(torch.utils.data.IterableDataset):
    """The shards of one epoch, read by the DataLoader's worker processes.

    Worker ``w`` of ``W`` reads tasks ``w, w + W, ...`` and yields one item per task; the
    DataLoader takes items from its workers in turn, so they arrive in task order
    whatever the number of workers. Errors travel as items (re-raised by the loader as
    one line), not as a worker's traceback.
    """

    def __init__(self, shards, tasks: list[int], on_error: str):
        self.shards, self.tasks, self.on_error = shards, tasks, on_error

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        first, step = (info.id, info.num_workers) if info is not None else (0, 1)
        for t in range(first, len(self.tasks), step):
            try:
                x, y, skipped = read_shard(self.shards[self.tasks[t]], self.on_error)
                yield {"x": x, "y": y, "skipped": skipped, "error": None}
            except CnnkitError as error:
                yield {"x": None, "y": None, "skipped": [],
                       "error": (type(error).__name__, str(error))}


_ERRORS = {cls.__name__: cls for cls in (DataFileError, ShapeError, ArgumentError,
                                          ArgumentTypeError)}


class StreamingLoader(_Resumable):
    """Batches from shards read a few at a time, by worker processes, each process of a
    torchrun job reading shards of its own.

    **Order.** Epoch ``e`` permutes the shards with a generator seeded from
    ``(seed, e)``; process ``rank`` of ``world_size`` takes every ``world_size``-th of
    them, so no process reads another's data. Its shards are grouped, in that order,
    into shuffle windows of at least ``buffer_size`` samples; a window's samples are
    permuted (seeded from ``(seed, e, rank, world_size, window)``) and cut into batches
    that run on into the next window. The order is a pure function of (seed, epoch)
    for a given number of processes, and independent of ``num_workers``.

    **Equal steps.** Under torchrun every process takes the same number of batches
    per epoch, so that no collective waits for a process that has stopped: the
    smallest share decides (the ``len(shards) // world_size`` smallest shards), and the
    larger shares leave their last samples out that epoch (other ones each epoch, as
    the assignment changes). ``batch_size`` is the global batch: each process takes
    ``batch_size // world_size``.

    **Unreadable data.** With ``on_error="raise"`` the first unreadable shard or sample
    stops the epoch, naming it. With ``"skip"`` it is left out, the places of its samples
    are filled by repeating readable samples of the same window, and a warning names it
    at the end of the epoch: the epoch keeps its number of batches and a resumed run
    its position.

    **Exact resume.** ``state_dict()`` holds the epoch, the batch, and where that batch
    starts: the window, its first shard's place in this process's shard order, the
    offset in the window, and the seed of the window's permutation. All of them follow
    from (seed, epoch, batch), so ``set_epoch(epoch, batch)`` resumes there too,
    reading nothing before that window.

    **Memory and devices.** A process holds one window (``buffer_size`` samples and at
    most one shard more), the next window's shards that its workers read ahead while
    this one trains, and a batch. 8-bit images stay uint8 until a batch is on ``device``; on a GPU, batches are
    gathered into pinned memory and copied asynchronously.

    Args:
        shards: ``.tar`` (WebDataset layout) or ``.npz`` paths, or shard objects with
            ``len()`` and ``read(on_error)`` or ``load()`` (``TarShard``, ``NpzShard``,
            ``ImageFolderShard``, your own); or a folder that ``cnnkit data pack`` wrote
            (its train split).
        batch_size: samples per optimiser step over all processes.
        buffer_size: samples per shuffle window (0: one shard per window).
        shuffle: shuffle shards and samples; ``False`` streams in order.
        drop_last: leave out the last, smaller batch (always, with several processes).
        seed: fixes every epoch's order.
        device: where batches go.
        transform: batch augmentation on the device, as for ``BatchLoader``.
        num_workers: processes that read and decode shards (0: this process; ``"auto"``:
            the free cores).
        rank, world_size: this process's place (default: from torch.distributed, or
            torchrun's RANK and WORLD_SIZE).
        on_error: ``"raise"`` or ``"skip"`` unreadable shards and samples (default: each
            shard's own setting; ``"raise"`` for paths).
        pin_memory: gather batches into pinned memory (default: when ``device`` is a GPU).
        x_key, y_key, input_shape, channels_last, scale: how ``.npz`` paths are read.

    Shape:
        yields ``(x, y)`` batches of ``batch_size // world_size`` samples (the last may be
        smaller with one process and no ``drop_last``); 8-bit images as float32 / 255.

    Raises:
        ArgumentError: no shards; fewer shards than processes (the numbers named); a
            ``batch_size`` that does not split over the processes, or larger than the
            smallest share; ``buffer_size`` negative.
        ArgumentTypeError: a shard is neither a path nor a shard object.
        DataFileError: an unreadable shard or sample, with ``on_error="raise"``.

    Example:
        >>> import numpy as np, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> paths = []
        >>> for k in range(4):
        ...     paths.append(os.path.join(folder, f"part{k}.npz"))
        ...     np.savez(paths[-1], x=np.full((10, 4), k / 4, np.float32), y=np.full(10, k))
        >>> loader = StreamingLoader(paths, batch_size=8, buffer_size=10, seed=1)
        >>> len(loader), sum(len(yb) for _, yb in loader)
        (5, 40)
        >>> ranks = [StreamingLoader(paths, batch_size=8, rank=r, world_size=2) for r in (0, 1)]
        >>> [[len(yb) for _, yb in r] for r in ranks]   # 2 shards each, 4 per batch
        [[4, 4, 4, 4, 4], [4, 4, 4, 4, 4]]
        >>> mine = [set(torch.cat([yb for _, yb in r]).tolist()) for r in ranks]  # epoch 1
        >>> sorted(mine[0] | mine[1]), mine[0] & mine[1]   # every shard, none read twice
        ([0, 1, 2, 3], set())
    """

    per_rank = True  # batches are this process's share already: a Trainer must not slice them

    def __init__(self, shards, *, batch_size: int = 64, buffer_size: int = 10_000,
                 shuffle: bool = True, drop_last: bool = False, seed: int = 0, device=None,
                 transform: Callable | None = None, num_workers=0,
                 rank: int | None = None, world_size: int | None = None,
                 on_error: str | None = None, pin_memory: bool | None = None, x_key: str = "x",
                 y_key: str = "y", input_shape=None, channels_last: bool = False,
                 scale="auto"):
        super().__init__(batch_size, shuffle, drop_last, seed, device, transform)
        from .shards import ShardedDataset, is_shard_folder

        if isinstance(shards, (str, PathLike)) and is_shard_folder(shards):
            shards = ShardedDataset(shards, on_error=on_error or "raise").shards
        if isinstance(shards, (str, PathLike)) or not isinstance(shards, Sequence):
            raise ArgumentTypeError(
                f"shards must be a list of .tar or .npz paths or shard objects, or a shard "
                f"folder. Received: shards={shards!r}. Wrap a single file in a list: "
                f"shards=[path]."
            )
        if not shards:
            raise ArgumentError("shards must hold at least one shard. Received: shards=[].")
        self.buffer_size = positive_int(buffer_size, "buffer_size", allow_zero=True)
        self.on_error = None if on_error is None else one_of(on_error, ("raise", "skip"),
                                                             "on_error")
        options = dict(x_key=x_key, y_key=y_key, input_shape=input_shape,
                       channels_last=channels_last, scale=scale)
        self.shards = [_as_shard(s, options) for s in shards]
        worker_count(num_workers, 1)  # checks the setting
        self.num_workers = num_workers
        self.rank, self.world_size = _process_group(rank, world_size)
        self.pin_memory = (self.device is not None and self.device.type == "cuda"
                           if pin_memory is None else bool(pin_memory))
        try:
            self._lengths = [len(s) for s in self.shards]
        except TypeError:
            raise ArgumentTypeError(
                "every shard needs len() (its number of samples, known before reading it), "
                "so that every process can take the same number of batches. Give your shard "
                "objects a __len__."
            ) from None
        self.skipped: list[tuple[str, str]] = []
        self._plan_layout()

    def _plan_layout(self) -> None:
        """Batches per epoch and per process, from the shards' lengths alone."""
        count, world, size = len(self.shards), self.world_size, self.batch_size
        if world == 1:
            self.local_batch_size = size
            total = self.num_samples
            self._steps = total // size if self.drop_last else math.ceil(total / size)
            self._epoch_samples = min(total, self._steps * size)
            return
        if count < world:
            raise ArgumentError(
                f"the data has {count} shard(s) but {world} processes read it: each process "
                f"reads whole shards of its own, so {world - count} would read none. Received: "
                f"{count} shards, world_size={world}. Use at most {count} processes, or pack "
                f"the data into {world} shards or more (a smaller --shard-size).",
                argument="world_size")
        if size % world:
            low, high = size - size % world, size + world - size % world
            raise ArgumentError(
                f"batch_size {size} does not split evenly over {world} processes. Received: "
                f"batch_size={size}, world_size={world}. Use a multiple of {world} "
                f"({low or high} or {high}).", argument="batch_size")
        self.local_batch_size = local = size // world
        smallest = sum(sorted(self._lengths)[:count // world])
        self._steps = smallest // local
        if self._steps == 0:
            raise ArgumentError(
                f"the smallest share of the {count} shards over {world} processes holds "
                f"{smallest} samples, fewer than one batch of {local} per process. Received: "
                f"batch_size={size}, world_size={world}. Use a smaller batch, fewer processes, "
                f"or more data.", argument="batch_size")
        self._epoch_samples = self._steps * local
        used = self._epoch_samples * world
        if used < 0.9 * self.num_samples:
            warnings.warn(
                f"{count} shards over {world} processes: every process takes the batches of "
                f"the smallest share ({self._epoch_samples} samples), so an epoch uses "
                f"{used} of the {self.num_samples} samples. Shards of one size, a multiple of "
                f"{world} of them, use them all.", RuntimeWarning, stacklevel=3)

    @property
    def num_samples(self) -> int:
        """Samples in all the shards (every process's share together)."""
        return sum(self._lengths)

    def __len__(self) -> int:
        """Batches per epoch, the same in every process."""
        return self._steps

    # -- the plan of an epoch: a pure function of (seed, epoch, rank, world_size)
    def shard_order(self, epoch: int) -> list[int]:
        """The shards this process reads in epoch ``epoch``, in order (indices into shards)."""
        count = len(self.shards)
        if self.shuffle:
            gen = torch.Generator().manual_seed(seed_for(self.seed, epoch))
            order = torch.randperm(count, generator=gen).tolist()
        else:
            order = list(range(count))
        return order[self.rank::self.world_size]

    def _windows(self, epoch: int) -> list[list[int]]:
        windows: list[list[int]] = []
        current: list[int] = []
        held = 0
        for k in self.shard_order(epoch):
            current.append(k)
            held += self._lengths[k]
            if not self.shuffle or held >= self.buffer_size:
                windows.append(current)
                current, held = [], 0
        if current:
            windows.append(current)
        return windows

    def _window_seed(self, epoch: int, window: int) -> int:
        return seed_for(self.seed, epoch, self.rank, self.world_size, window)

    def _locate(self, epoch: int, batch: int):
        """(windows, their first samples, window and offset where ``batch`` starts)."""
        windows = self._windows(epoch)
        starts = [0]
        for window in windows:
            starts.append(starts[-1] + sum(self._lengths[k] for k in window))
        position = batch * self.local_batch_size
        index = max(bisect.bisect_right(starts, position) - 1, 0)
        return windows, starts, index, position - starts[index]

    def state_dict(self) -> dict[str, int]:
        """Where the loader stands: ``seed, epoch, batch`` and where that batch starts:
        ``window``, ``shard`` (the window's first shard's place in this process's order
        of the epoch), ``offset`` in the window, ``buffer_seed`` (its permutation's seed),
        and ``rank``, ``world_size``."""
        state = super().state_dict()
        windows, _, window, offset = self._locate(state["epoch"], state["batch"])
        state.update(window=window, shard=sum(len(w) for w in windows[:window]),
                     offset=offset, buffer_seed=self._window_seed(state["epoch"], window),
                     rank=self.rank, world_size=self.world_size)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from ``state_dict()``: the next iteration continues at its batch.

        Raises:
            ArgumentError: a state of another seed, number of processes or shard layout.
        """
        if isinstance(state, dict) and state.get("world_size", self.world_size) != self.world_size:
            raise ArgumentError(
                f"state was saved with world_size={state['world_size']} processes, but this "
                f"loader runs with world_size={self.world_size}; each process's shards would "
                f"differ. Resume with {state['world_size']} processes.", argument="state")
        super().load_state_dict(state)
        if "window" in state:
            mine = self.state_dict()
            if (mine["window"], mine["offset"]) != (state["window"], state["offset"]):
                raise ArgumentError(
                    f"state points at window {state['window']}, offset {state['offset']}, but "
                    f"these shards put batch {state['batch']} at window {mine['window']}, offset "
                    f"{mine['offset']}: the shards or buffer_size changed since it was saved. "
                    f"Resume with the same shards and buffer_size.", argument="state")

    # -- iteration
    def __iter__(self) -> Iterator:
        epoch, start, token = self._begin()
        return self._batches(epoch, start, token)

    def _batches(self, epoch: int, start: int, token) -> Iterator:
        windows, starts, first, _ = self._locate(epoch, start)
        end = self._epoch_samples
        position = start * self.local_batch_size
        self.skipped = []
        if position >= end:
            self._end(token)
            return
        last = bisect.bisect_right(starts, end - 1) - 1  # windows after it are never read
        source = self._window_data(epoch, windows, first, last)
        pieces: list = []
        held, index = 0, start
        try:
            for w, (x, y, order) in zip(range(first, last + 1), source):
                lo = position - starts[w]
                while lo < len(order) and position < end:
                    take = min(self.local_batch_size - held, len(order) - lo, end - position)
                    pieces.append((x, y, order[lo:lo + take]))
                    held, lo, position = held + take, lo + take, position + take
                    if held == self.local_batch_size or position == end:
                        yield self._emit(pieces, epoch, index, token)
                        pieces, held, index = [], 0, index + 1
        finally:
            source.close()
        self._end(token)
        if self.skipped:
            self._warn_skipped()

    def _warn_skipped(self) -> None:
        shown = "; ".join(f"{name} ({reason})" for name, reason in self.skipped[:5])
        more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        warnings.warn(
            f"Skipped {len(self.skipped)} unreadable item(s) of the {len(self.shards)} shards "
            f"({self.num_samples} samples): {shown}{more}. Readable samples of the same "
            f"window were repeated in their places. The list is in StreamingLoader.skipped.",
            SkippedFilesWarning, stacklevel=3)

    def _window_data(self, epoch: int, windows, first: int, last: int) -> Iterator:
        """``(x, y, order)`` of windows ``first..last``: their samples (unreadable ones
        replaced), and the permutation the batches follow."""
        tasks = [k for window in windows[first:last + 1] for k in window]
        # Read ahead a whole window: the next one is decoded while this one trains.
        ahead = max(len(window) for window in windows[first:last + 1])
        reader = self._read(tasks, ahead)
        shape = None
        try:
            for w in range(first, last + 1):
                parts = [(k, next(reader)) for k in windows[w]]
                x, y = self._assemble(parts)
                if shape is None:
                    shape = tuple(x.shape[1:])
                elif tuple(x.shape[1:]) != shape:
                    raise ShapeError(
                        f"Shard {self.shards[windows[w][0]]!r} holds samples of shape "
                        f"{tuple(x.shape[1:])} but earlier shards hold {shape}; every shard "
                        f"must have the same sample shape.")
                if self.shuffle:
                    gen = torch.Generator().manual_seed(self._window_seed(epoch, w))
                    order = torch.randperm(len(y), generator=gen)
                else:
                    order = torch.arange(len(y))
                yield x, y, order
        finally:
            reader.close()

    def _read(self, tasks: list[int], ahead: int = 2) -> Iterator:
        """``(x, y, skipped)`` of each task's shard, in task order."""
        workers = worker_count(self.num_workers, len(tasks), self._local_processes())
        if workers == 0:
            for k in tasks:
                yield read_shard(self.shards[k], self.on_error)
            return
        loader = torch.utils.data.DataLoader(
            _ShardTasks(self.shards, tasks, self.on_error), batch_size=None,
            num_workers=workers, prefetch_factor=max(2, math.ceil(ahead / workers)))
        for item in loader:
            if item["error"] is not None:
                kind, message = item["error"]
                raise _ERRORS.get(kind, DataFileError)(message)
            yield item["x"], item["y"], item["skipped"]

    def _local_processes(self) -> int:
        return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))

    def _assemble(self, parts) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        nominal = 0
        for k, (x, y, skipped) in parts:
            length = self._lengths[k]
            nominal += length
            if len(y) > length:
                raise DataFileError(
                    f"the shard {self.shards[k]!r} holds {len(y)} samples but {length} were "
                    f"announced (its len(), or index.json): it changed after it was packed. "
                    f"Pack the data again.")
            self.skipped.extend(skipped)
            if len(y):
                if xs and tuple(x.shape[1:]) != tuple(xs[0].shape[1:]):
                    raise ShapeError(
                        f"Shard {self.shards[k]!r} holds samples of shape {tuple(x.shape[1:])} "
                        f"but earlier shards hold {tuple(xs[0].shape[1:])}; every shard must "
                        f"have the same sample shape.")
                xs.append(x)
                ys.append(y)
        if not ys:
            names = ", ".join(repr(self.shards[k]) for k, _ in parts)
            raise DataFileError(
                f"no sample of {names} could be read (first: {self.skipped[-1][0]}: "
                f"{self.skipped[-1][1]}), and their places are filled from readable samples "
                f"of the same shuffle window, which has none. Repair or remove the shard(s) "
                f"and pack the data again, or raise buffer_size.")
        x, y = _cat(xs), torch.cat(ys)
        if len(y) < nominal:  # unreadable samples: repeat readable ones in their places
            fill = torch.arange(nominal - len(y)) % len(y)
            x, y = torch.cat([x, x[fill]]), torch.cat([y, y[fill]])
        return x, y

    def _emit(self, pieces, epoch: int, index: int, token):
        pieces = _same_dtype(pieces)
        count = sum(len(order) for _, _, order in pieces)
        x0 = pieces[0][0]
        xb = torch.empty((count, *x0.shape[1:]), dtype=x0.dtype, pin_memory=self.pin_memory)
        lo = 0
        for x, _, order in pieces:
            torch.index_select(x, 0, order, out=xb[lo:lo + len(order)])
            lo += len(order)
        yb = torch.cat([y.index_select(0, order) for _, y, order in pieces])
        if self.device is not None:
            xb = xb.to(self.device, non_blocking=self.pin_memory)
            yb = yb.to(self.device, non_blocking=self.pin_memory)
        if xb.dtype == torch.uint8:
            xb = xb.to(torch.float32).div_(255.0)  # on the device: a quarter of the bytes moved
        return self._finish_batch(xb, yb, epoch, index, token)

    def __repr__(self) -> str:
        return (f"StreamingLoader(shards={len(self.shards)}, batch_size={self.batch_size}, "
                f"buffer_size={self.buffer_size}, shuffle={self.shuffle}, seed={self.seed}, "
                f"rank={self.rank}, world_size={self.world_size})")


def _cat(xs: list[torch.Tensor]) -> torch.Tensor:
    if any(x.dtype != xs[0].dtype for x in xs):
        xs = [_as_float(x) for x in xs]
    return xs[0] if len(xs) == 1 else torch.cat(xs)


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x.to(torch.float32)


def _same_dtype(pieces):
    if all(x.dtype == pieces[0][0].dtype for x, _, _ in pieces):
        return pieces
    return [(_as_float(x), y, order) for x, y, order in pieces]


def check_streaming(loader, *, batch_size: int, seed: int, val_fraction: float, val,
                    device) -> None:
    """Check that a streaming loader fits the training settings it is used with, and send
    its batches to ``device`` when it has no device of its own.

    Raises:
        ArgumentError: a loader of another batch size or seed than the config's (its
            order would not be the one a resumed run expects), or ``val_fraction`` without
            ``val`` (a stream cannot be split here: whole shards are held out instead).

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "part.npz")
        >>> np.savez(path, x=np.zeros((8, 2), np.float32), y=np.arange(8) % 2)
        >>> loader = StreamingLoader([path], batch_size=4, seed=1)
        >>> check_streaming(loader, batch_size=4, seed=2, val_fraction=0, val=None, device="cpu")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: the streaming loader has seed=1 but config.seed is 2; ...
    """
    for name, have, want in (("batch_size", loader.batch_size, batch_size),
                             ("seed", loader.seed, seed)):
        if have != want:
            raise ArgumentError(
                f"the streaming loader has {name}={have} but config.{name} is {want}; they "
                f"must agree (the config decides the schedule and a resumed run's order). "
                f"Received: {name}={want}. Create the loader with {name}={want}.",
                argument=name)
    if val is None and val_fraction:
        raise ArgumentError(
            f"config.val_fraction {val_fraction:g} cannot be cut from a streaming loader, "
            f"which never holds its data. Received: val_fraction={val_fraction!r} and no val. "
            f"Pass val= (ShardedDataset.split_validation holds out whole shards), or set "
            f"val_fraction: 0.", argument="val_fraction")
    if loader.device is None:
        loader.device = torch.device(device)
        if loader.device.type == "cuda":
            loader.pin_memory = True
