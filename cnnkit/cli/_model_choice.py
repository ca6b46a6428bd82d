"""What ``cnnkit train NAME --data X`` trains when NAME is a zoo model: the model sized for
the data (its channels, spatial size and classes), and the data as the model takes it.

A zoo model never resizes data by itself: ``--resize H W`` resizes images because the user
asked (data smaller than the model's smallest input is an error naming that size and the
flag, see :func:`cnnkit.models.for_data`); the last layer has exactly the data's classes.
What a model needs from the data besides its shape is taken from it here: the text CNN's
vocabulary, the neocognitron's S-cells (learned without labels from the training images).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from .._validation import ArgumentError

__all__ = ["CLI_TASKS", "choose", "is_zoo_model", "zoo_network"]

# The tasks `cnnkit train` trains from a zoo model's spec (cnnkit.tasks; docs/tasks.md).
CLI_TASKS = ("classify", "multilabel", "regress", "segment", "reconstruct", "detect")
# The data's kind of target -> the task a zoo model must have to learn it.
_TASK_OF_TARGET = {"class": "classify", "segmentation": "segment", "detection": "detect",
                   "multilabel": "multilabel", "regression": "regress"}


def is_zoo_model(spec) -> bool:
    """Whether ``spec`` (as typed after ``cnnkit train``) names a registered zoo model."""
    from ..models import list_models

    return isinstance(spec, str) and spec in list_models()


def _parse_settings(items: list[str]) -> dict:
    import yaml

    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ArgumentError(f"--model takes KEY=VALUE (a setting of the zoo model, e.g. "
                                f"--model width=16). Received: --model {item}.")
        try:
            settings[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ArgumentError(f"--model {item}: the value is not valid YAML. Quote text "
                                f"values.") from None
    return {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}


def _resized(dataset, size: tuple[int, ...]):
    """``dataset`` with its images (and label maps) resized to ``size``."""
    x = dataset.x
    if x.dim() != len(size) + 2 or not x.is_floating_point():
        raise ArgumentError(
            f"--resize takes {x.dim() - 2} size(s) for this data (samples of shape "
            f"{tuple(x.shape[1:])}), and resizes images and clips only. Received: --resize "
            f"{' '.join(map(str, size))}.")
    if tuple(x.shape[2:]) == size:
        return dataset
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(size)]
    shrink = any(s < t for s, t in zip(size, x.shape[2:]))
    x = F.interpolate(x, size=size, mode=mode, align_corners=False,
                      antialias=shrink and mode == "bilinear")
    y = dataset.y
    if getattr(dataset, "target", "class") == "segmentation":
        y = F.interpolate(y[:, None].float(), size=size, mode="nearest")[:, 0].to(y.dtype)
    return dataclasses.replace(dataset, x=x.contiguous(), y=y.contiguous())


def _with_channel(dataset):
    """Sequences stored without a channel axis, ``(N, L)``, as one channel ``(N, 1, L)``
    (token ids; mu-law codes with a next code per position)."""
    if dataset.x.dim() != 2:
        return dataset
    return dataclasses.replace(dataset, x=dataset.x[:, None])


def _describe(data) -> str:
    return repr(str(data)) if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__") \
        else "in memory"


def _check_task(name: str, model_task: str | None, dataset, data) -> None:
    target = getattr(dataset, "target", "class") or "class"
    wanted = _TASK_OF_TARGET.get(target)
    task = model_task or "classify"
    if task == "reconstruct":                 # the target is the input: any data will do
        wanted = task
    if task != wanted:
        raise ArgumentError(
            f"model {name!r} is trained to {task}, but the data ({_describe(data)}) has {target} "
            f"targets (for task {wanted}). Choose data with "
            f"{ {v: k for k, v in _TASK_OF_TARGET.items()}.get(task, 'other')} targets, or a "
            f"model for {wanted} (docs/zoo.md lists each model's task).")
    if task not in CLI_TASKS:
        raise ArgumentError(
            f"model {name!r} is trained to {task}, and `cnnkit train` trains {', '.join(CLI_TASKS)} "
            f"today. Train it from Python with cnnkit.tasks (docs/zoo.md shows how).")


def zoo_network(name: str, data, *, settings: list[str] | dict | None = None,
                resize=None, seed: int = 0, on_error: str = "raise"):
    """The zoo model ``name`` built for ``data``, and the data to train it on.

    Args:
        name: a registered model.
        data: what ``--data`` names (a bundled set or a path).
        settings: ``--model KEY=VALUE`` items (or a dict): the model's own settings.
        resize: ``--resize`` sizes, or None: the data's own size.
        seed: seeds what is learned before training (the neocognitron's S-cells).
        on_error: as for :func:`cnnkit.data.load_data`.

    Returns:
        ``(spec, data)`` for :func:`cnnkit.train`: the spec as a dict (``model: {name,
        settings}`` for a zoo Module that is not a sequence of layers, see docs/spec.md; or
        a Network whose weights were partly learned from the data), and ``data`` itself
        or, where the data was changed (resized, given a channel axis), the ``(train,
        test)`` Datasets.

    Raises:
        ArgumentError: a model of another task or rank than the data, a bad ``--model``
            setting.
        ShapeError: data smaller than the model's smallest input (naming ``--resize``).
    """
    from ..data import load_data
    from ..models import create_model, for_data

    with torch.device("meta"):                        # what the model is, nothing allocated
        kind = create_model(name)
    settings = dict(settings) if isinstance(settings, dict) else _parse_settings(settings or [])
    train, test = load_data(data, on_error=on_error, seed=seed)
    _check_task(name, getattr(kind, "task", None), train, data)
    changed = False
    if train.x.dim() == 2 and getattr(train, "target", "class") == "class":
        train, test, changed = _with_channel(train), _with_channel(test), True
    if resize:
        size = tuple(int(v) for v in resize)
        size = size * (train.x.dim() - 2) if len(size) == 1 else size
        new_train, new_test = _resized(train, size), _resized(test, size)
        changed = changed or new_train is not train
        train, test = new_train, new_test
    vocabulary = (getattr(train, "info", None) or {}).get("vocabulary")
    if name == "text_cnn" and "vocab" not in settings:
        settings["vocab"] = len(vocabulary) if vocabulary is not None else int(train.x.max()) + 1
    input_shape = tuple(int(v) for v in train.x.shape[1:])
    if len(input_shape) == 1:  # a signal without a channel axis (mu-law codes): the loaders
        input_shape = (1, *input_shape)  # give it one for a network of input (1, L)
    given = (train, test) if changed else data
    if name == "neocognitron":                        # S-cells learned from the images
        from ..features.neocognitron import learn_s_cells

        torch.manual_seed(seed)
        network = for_data(name, input_shape, train.num_classes, **settings)
        learn_s_cells(network, train.x[:1000], seed=seed)
        return network, given
    with torch.device("meta"):                        # the spec only: train() builds it
        network = for_data(name, input_shape, train.num_classes, **settings)
    if callable(getattr(network, "spec", None)):
        return network.spec(), given
    # A Module that no sequence of layers describes: the spec names it (``model:``).
    return {"name": name, "input": list(input_shape),
            "model": {"name": name, "settings": {"num_classes": train.num_classes,
                                                 **settings}}}, given


def choose(args):
    """``(spec, data)`` for ``cnnkit train``'s arguments: a zoo model sized for the data
    (:func:`zoo_network`), or a spec file and the data as given."""
    model, resize = getattr(args, "model", None), getattr(args, "resize", None)
    if is_zoo_model(args.spec):
        return zoo_network(args.spec, args.data, settings=model, resize=resize,
                           seed=getattr(args, "seed", None) or 0,
                           on_error="skip" if getattr(args, "skip_bad_images", False) else "raise")
    if model or resize:
        flag = "--model" if model else "--resize"
        raise ArgumentError(
            f"{flag} sets up a zoo model for the data, and {args.spec!r} is not one. Received: "
            f"{flag} with {args.spec}. Write the size or setting into the spec (its input: "
            f"and layers:), or name a zoo model (cnnkit.models.list_models()).")
    return args.spec, args.data
