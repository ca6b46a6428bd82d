"""From a data source (a bundled name, a path, a Dataset) to checked train and test splits,
and the identity that lets a run refuse other data later.

:func:`load_data` chooses the loader from the source: a bundled data set name, a folder of
images (one sub-folder per class), a ``.npz`` or a ``.csv`` file, a :class:`Dataset` (split
here) or a ``(train, test)`` pair. It refuses data that cannot train: NaN or infinite
values (naming the sample), an empty split, a single class.

:func:`data_identity` is what a run records about its data: the bundled name and its
pinned SHA-256, or the absolute path and the SHA-256 of the file (of every file, for a
folder), or the SHA-256 of tensors held in memory. Resuming and evaluating compare it with
the data they are given (:func:`check_same_data`), so that a run never continues or is
scored on other data by accident.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import torch

from .._files import sha256_file
from .._validation import ArgumentError, ShapeError, did_you_mean
from .annotated import load_detection_folder, load_segmentation_folder
from .dataset import Dataset, train_test_split
from .datasets import dataset_info, list_datasets, load_dataset
from .shards import INDEX_FILE, ShardedDataset, is_shard_folder, load_shards, read_index
from .sources import load_csv, load_image_folder, load_npz

__all__ = ["CLASSIFICATION_LOSSES", "check_finite", "check_fits", "check_same_data",
           "check_source", "check_trainable", "data_identity", "describe_identity", "load_data",
           "resolve_source", "with_channel_axis"]

# Losses whose targets are class indices: such data needs two classes at least.
CLASSIFICATION_LOSSES = (None, "softmax_cross_entropy")


def resolve_source(source):
    """What a run records as its data source: a bundled name as it is, a path made absolute
    (so that the run finds the same file from any working directory), a Dataset or a pair
    unchanged.

    Example:
        >>> resolve_source("digits")
        'digits'
        >>> Path(resolve_source("some/file.npz")).is_absolute()
        True
    """
    if isinstance(source, (str, Path)):
        text = str(source)
        if text in list_datasets():
            return text
        return str(Path(text).expanduser().resolve())
    return source


def check_source(source) -> None:
    """Refuse a source that names neither a bundled data set nor an existing path (cheap:
    nothing is read), with the bundled names and the closest one.

    Example:
        >>> check_source("mnist5")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: data 'mnist5' is neither a bundled data set nor an existing path. Received: data='mnist5'. Did you mean 'mnist5k'? Bundled data sets: ...; or give a folder of images (one sub-folder per class), a .npz or a .csv file.
    """
    if isinstance(source, (str, Path)):
        text = str(source)
        if text not in list_datasets() and not Path(text).expanduser().exists():
            raise _not_found(text)


def _not_found(text: str) -> ArgumentError:
    return ArgumentError(
        f"data {text!r} is neither a bundled data set nor an existing path. Received: "
        f"data={text!r}.{did_you_mean(text, list_datasets())} Bundled data sets: "
        f"{', '.join(list_datasets())}; or give a folder "
        f"of images (one sub-folder per class), a .npz or a .csv file.", argument="data")


def load_data(source, input_shape=None, *, on_error: str = "raise", seed: int = 0,
              test_fraction: float = 0.2) -> tuple[Dataset, Dataset]:
    """(train, test) Datasets from a bundled name, a folder of images, a .npz or a .csv.

    Args:
        source: a bundled data set name (``list_datasets()``), a path, a Dataset (split
            here) or a ``(train, test)`` pair of Datasets.
        input_shape: ``(C, *spatial)`` the network takes: images are converted and resized
            to it, flat rows reshaped.
        on_error: ``"raise"`` or ``"skip"`` unreadable images of a folder.
        seed: seed of the train / test split.
        test_fraction: share of the samples held out for testing (files and Datasets).

    Raises:
        ArgumentError: an unknown name or missing path; NaN or infinite values (the sample
            named); a split left empty.

    Example:
        >>> train, test = load_data("digits")
        >>> len(train), len(test), train.input_shape
        (1438, 359, (1, 8, 8))
    """
    if isinstance(source, tuple) and len(source) == 2:
        train, test = source
        where = "data"
    elif isinstance(source, Dataset) or (hasattr(source, "x") and hasattr(source, "y")):
        check_finite(source, "data")
        train, test = train_test_split(source, test_fraction, seed=seed)
        where = "data"
    else:
        text = str(source)
        where = f"data {text!r}"
        if text in list_datasets():
            return (with_channel_axis(load_dataset(text, "train"), input_shape),
                    with_channel_axis(load_dataset(text, "test"), input_shape))
        path = Path(text).expanduser()
        if not path.exists():
            raise _not_found(text)
        if is_shard_folder(path):  # streamed: the train split stays on disk
            return load_shards(path, input_shape, on_error=on_error)
        full = _load_path(path, text, input_shape, on_error)
        train, test = train_test_split(full, test_fraction, seed=seed)
        if not (len(train) and len(test)):
            raise ArgumentError(
                f"{where} has {len(full)} sample(s): a test_fraction of {test_fraction:g} leaves "
                f"{len(train)} for training and {len(test)} for testing, and both need at least "
                f"one. Give more data (at least {_enough(test_fraction)} samples).",
                argument="data")
    for part, name in ((train, "training"), (test, "test")):
        if isinstance(part, ShardedDataset):
            continue  # described by its index; its samples are checked as they stream
        if len(part) == 0:
            raise ArgumentError(f"{where} gives 0 {name} samples; both splits need at least one. "
                                f"Give more data.", argument="data")
    if not isinstance(train, ShardedDataset):
        check_finite(train, "training data")
    check_finite(test, "test data")
    return train, test


def with_channel_axis(dataset: Dataset, input_shape=None) -> Dataset:
    """``dataset`` with a channel axis where its samples lack the one channel of
    ``input_shape``: sequences ``(N, L)`` for a network of input ``(1, L)`` (the bundled
    mu-law codes); unchanged otherwise.

    Example:
        >>> data = Dataset(torch.zeros(3, 5, dtype=torch.long), torch.zeros(3, 5, dtype=torch.long), ())
        >>> with_channel_axis(data, (1, 5)).x.shape, with_channel_axis(data).x.shape
        (torch.Size([3, 1, 5]), torch.Size([3, 5]))
    """
    if input_shape is None or isinstance(dataset, ShardedDataset):
        return dataset
    shape = tuple(input_shape)
    if len(shape) < 2 or shape[0] != 1 or tuple(dataset.x.shape[1:]) != shape[1:]:
        return dataset
    return dataclasses.replace(dataset, x=dataset.x.unsqueeze(1))


def _enough(test_fraction: float) -> int:
    n = 2
    while not (round(test_fraction * n) >= 1 and n - round(test_fraction * n) >= 1):
        n += 1
    return n


def _load_path(path: Path, text: str, input_shape, on_error: str) -> Dataset:
    size = tuple(input_shape[1:]) if input_shape is not None and len(input_shape) == 3 else None
    mode = {1: "L", 3: "RGB"}.get(input_shape[0]) if input_shape is not None else None
    # images/ with labels/<stem>.txt (boxes) or masks/<stem>.png (label maps): annotated
    if path.is_dir() and (path / "images").is_dir() and (path / "labels").is_dir():
        return load_detection_folder(path, size=size, mode=mode)
    if path.is_dir() and (path / "images").is_dir() and (path / "masks").is_dir():
        return load_segmentation_folder(path, size=size, mode=mode)
    if path.is_dir():
        return load_image_folder(path, size=size, mode=mode, on_error=on_error)
    if path.suffix == ".npz":
        return load_npz(path, input_shape=input_shape)
    if path.name.endswith((".csv", ".csv.gz")):
        return load_csv(path, input_shape=input_shape)
    raise ArgumentError(f"data file {text!r} has an unknown type. Received: data={text!r}. "
                        "Use a folder of images, a .npz or a .csv file.", argument="data")


def _raise_on_nonfinite(x: torch.Tensor, where: str) -> None:
    if not x.is_floating_point() or len(x) == 0:
        return
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if not bool(bad.any()):
        return
    rows = bad.nonzero().flatten()
    first = int(rows[0])
    kind = "NaN" if bool(torch.isnan(x[first]).any()) else "infinite values"
    more = f" (and {len(rows) - 1} more samples)" if len(rows) > 1 else ""
    raise ArgumentError(f"{where} holds {kind} at sample {first}{more}. Remove or repair those "
                        f"samples: a network cannot learn from them.", argument="data")


def check_finite(dataset, where: str = "data") -> None:
    """Refuse a data set with NaN or infinite inputs, naming the first bad sample.

    The loaders and ``as_dataset`` refuse them already; a Dataset made directly, or
    changed after loading, is checked here before training.

    Example:
        >>> ds = Dataset(torch.tensor([[0.5, 0.1], [float("nan"), 0.2]]), torch.tensor([0, 1]),
        ...              ("a", "b"))
        >>> check_finite(ds, "training data")
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: training data holds NaN at sample 1. Remove or repair those samples: a network cannot learn from them.
    """
    _raise_on_nonfinite(dataset.x, where)


def check_fits(network, dataset, where: str = "data", *, labels: bool = True) -> None:
    """The data's sample shape and labels must fit the network's input and outputs.

    ``labels=False`` checks the sample shape only (targets other than class labels are
    checked by the run's task, ``cnnkit.tasks.Task.check``).

    Raises:
        ShapeError: the sample shape differs from the spec's input (says how to convert),
            or a label is beyond the network's outputs.
    """
    expected = tuple(network.input_shape)
    if isinstance(dataset, ShardedDataset):  # resized while read; labels from the index
        if labels:
            _check_labels(network, int(dataset.label_counts.nonzero()[0].max(initial=0)),
                          len(dataset.classes), where)
        return
    got = tuple(dataset.x.shape[1:])
    if got != expected:
        hint = ""
        if len(got) == len(expected) and got[0] != expected[0]:
            hint = f" Convert the images to {expected[0]} channel(s) (grey: 1, RGB: 3)"
        if got[1:] != expected[1:]:
            hint += f"{' and' if hint else ''} resize them to {'x'.join(map(str, expected[1:]))}"
        raise ShapeError(
            f"{where} samples have shape {got} but the spec's input is {list(expected)}."
            f"{hint or ' Change the spec input'}, or change `input:` in the spec to {list(got)}."
        )
    if labels and dataset.y.numel():
        _check_labels(network, int(dataset.y.max()), len(dataset.classes), where)


def _check_labels(network, top: int, names: int, where: str) -> None:
    outputs = network.output_shape[0] if getattr(network, "output_shape", None) else None
    if outputs is not None and top >= outputs:
        raise ShapeError(
            f"{where} has labels up to {top} ({top + 1} classes) but "
            f"the network has {outputs} outputs. Received: {names} class names. Make "
            f"the last dense layer {top + 1} units wide."
        )


def check_trainable(train: Dataset, loss=None, where: str = "training data") -> None:
    """Refuse training data a classifier cannot learn from: fewer than two classes.

    With one class every prediction is right, and the run would report 100 % accuracy
    having learnt nothing.

    Example:
        >>> check_trainable(Dataset(torch.zeros(4, 1, 2, 2), torch.tensor([3, 3, 3, 3]), ()))
        Traceback (most recent call last):
        ...
        cnnkit._validation.ArgumentError: training data has samples of one class only (label 3, 4 samples): a classifier needs at least 2 classes. Add samples of the other classes.
    """
    if isinstance(train, ShardedDataset):
        present = train.label_counts.nonzero()[0]
        if loss in CLASSIFICATION_LOSSES and len(present) == 1:
            raise ArgumentError(
                f"{where} has samples of one class only (label {int(present[0])}, "
                f"{len(train)} samples): a classifier needs at least 2 classes. Add samples "
                f"of the other classes.", argument="data")
        return
    if (loss not in CLASSIFICATION_LOSSES or train.y.dtype.is_floating_point
            or getattr(train, "target", "class") != "class"):
        return
    labels = torch.unique(train.y)
    if labels.numel() < 2:
        only = f"label {int(labels[0])}, " if labels.numel() else ""
        raise ArgumentError(
            f"{where} has samples of one class only ({only}{len(train)} samples): a classifier "
            f"needs at least 2 classes. Add samples of the other classes.", argument="data")


# ----------------------------------------------------------------------------- identity


def _tensor_digest(*datasets) -> str:
    digest = hashlib.sha256()
    for dataset in datasets:
        for t in (dataset.x, dataset.y):
            t = t.detach().cpu().contiguous()
            digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def data_identity(source) -> dict:
    """What identifies a data source, to be recorded with a run and checked later.

    Returns:
        ``{"kind": "bundled", "name", "sha256"}`` (the pinned checksum of the shipped
        file), ``{"kind": "file", "path", "sha256"}``, ``{"kind": "folder", "path",
        "files", "sha256"}`` (over every file's relative path and bytes) or
        ``{"kind": "memory", "sha256"}`` (over the tensors).

    Raises:
        ArgumentError: a path that does not exist.

    Example:
        >>> data_identity("digits")["sha256"][:12]
        '489ea20681f9'
    """
    if isinstance(source, tuple) and len(source) == 2:
        return {"kind": "memory", "sha256": _tensor_digest(*source)}
    if hasattr(source, "x") and hasattr(source, "y"):
        return {"kind": "memory", "sha256": _tensor_digest(source)}
    text = str(source)
    if text in list_datasets():
        return {"kind": "bundled", "name": text, "sha256": dataset_info(text).sha256}
    path = Path(text).expanduser().resolve()
    if is_shard_folder(path):
        # index.json holds every shard's SHA-256: its own checksum covers them all, and
        # nothing of a data set larger than memory is read again to compute it.
        index = path / INDEX_FILE
        return {"kind": "shards", "path": str(path), "files": len(read_index(path)["splits"]
                                                                  .get("train", [])),
                "sha256": sha256_file(index)}
    if path.is_file():
        return {"kind": "file", "path": str(path), "sha256": sha256_file(path)}
    if path.is_dir():
        digest = hashlib.sha256()
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            sha256_file(file, digest)
        return {"kind": "folder", "path": str(path), "files": len(files),
                "sha256": digest.hexdigest()}
    raise _not_found(text)


def describe_identity(identity: dict) -> str:
    """One phrase for an identity: ``file /data/x.npz (sha256 3f2a...)``.

    Example:
        >>> describe_identity(data_identity("digits"))
        "bundled data set 'digits' (sha256 489ea20681f9...)"
    """
    sha = f"sha256 {str(identity.get('sha256', '?'))[:12]}..."
    kind = identity.get("kind")
    if kind == "bundled":
        return f"bundled data set {identity.get('name')!r} ({sha})"
    if kind == "file":
        return f"file {identity.get('path')} ({sha})"
    if kind == "shards":
        return f"shard folder {identity.get('path')} ({identity.get('files')} train shards, {sha})"
    if kind == "folder":
        return f"folder {identity.get('path')} ({identity.get('files')} files, {sha})"
    return f"data held in memory ({sha})"


def check_same_data(recorded: dict | None, current: dict, *, run=None,
                    argument: str | None = "data", given=None) -> None:
    """Refuse data whose identity differs from the one a run recorded.

    Args:
        recorded: the identity in the run's ``config.yaml`` (None for runs made before
            identities were recorded: nothing to check).
        current: :func:`data_identity` of the data given now.
        run: the run folder, for the message.
        argument: the argument that gave the data (None: the run's own recorded source).
        given: what that argument received, echoed in the message.

    Raises:
        ArgumentError: naming both identities.
    """
    if not recorded or not recorded.get("sha256"):
        return
    if recorded.get("sha256") == current.get("sha256"):
        return
    where = f"run {run}" if run is not None else "the run"
    same_place = (recorded.get("path") and recorded.get("path") == current.get("path"))
    what = (f"the data changed since {where} was trained on it" if same_place
            else f"this is not the data {where} was trained on")
    now = (f"{argument}={str(given)!r} is" if argument is not None and given is not None
           else "it now holds")
    raise ArgumentError(
        f"{what}: the run recorded {describe_identity(recorded)}, but {now} "
        f"{describe_identity(current)}. Use the run's own data, or train a new run on this "
        f"data.", argument=argument)
