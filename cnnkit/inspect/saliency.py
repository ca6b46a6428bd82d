"""Which input pixels a decision depends on: gradients, SmoothGrad, Grad-CAM, occlusion.

Every method returns one map per sample over the input's spatial positions
``(N, *spatial)``, larger where the pixel matters more, as a detached CPU tensor:

- :func:`gradient` (Simonyan et al. 2014): ``max_c |d score / d x_c|``. The score is a
  class's logit, or any single unit of any layer (``layer=``, ``unit=``).
- :func:`smoothgrad` (Smilkov et al. 2017): the gradient map averaged over noisy copies
  of the input (all copies in one batch).
- :func:`grad_cam` (Selvaraju et al. 2017): a layer's maps weighted by the spatial mean of
  the score's gradient, rectified and brought to input size. Each map unit is placed at the
  centre of its receptive field (from the summary's field / jump / start), so a
  ``valid``-padded layer lines up with the input.
- :func:`occlusion` (Zeiler and Fergus 2014): how much the class probability falls when a
  window of the input is replaced by a baseline value; every occluded copy of an image is
  evaluated in batches, not one forward pass per position.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import ArgumentError, ArgumentTypeError, one_of, positive_int
from .activations import as_batch, capture, resolve_layer

__all__ = ["grad_cam", "gradient", "occlusion", "smoothgrad"]


def _targets(target, output: torch.Tensor, argument: str = "target") -> torch.Tensor:
    """One class index per sample: None -> the predicted class."""
    n, classes = output.shape[0], output.shape[1]
    if target is None:
        return output.detach().argmax(dim=1)
    if isinstance(target, bool) or not isinstance(target, (int, list, tuple, torch.Tensor)):
        raise ArgumentTypeError(
            f"{argument} must be None (the predicted class), a class index, or one index per "
            f"sample. Received: {argument}={target!r} ({type(target).__name__}).")
    t = torch.as_tensor(target, dtype=torch.long, device=output.device).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ArgumentError(
            f"{argument} must give one class per sample: the batch has {n}. Received: "
            f"{t.numel()} targets.")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= classes):
        raise ArgumentError(
            f"{argument} must be a class index from 0 to {classes - 1} (the model has "
            f"{classes} outputs). Received: {argument}={target!r}.")
    return t


def _unit_index(unit, shape: tuple, layer: str) -> tuple:
    if isinstance(unit, int) and not isinstance(unit, bool):
        unit = (unit,)
    if not isinstance(unit, (tuple, list)) or len(unit) != len(shape) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < s
            for v, s in zip(unit, shape)):
        raise ArgumentError(
            f"unit must index one unit of layer {layer!r}, whose output per sample has shape "
            f"{tuple(shape)} (channel first). Received: unit={unit!r}.")
    return tuple(unit)


def _score(model, x, target, layer, unit):
    """(scores (N,), x with grad): the logit of the target class, or one unit of a layer."""
    x = x.detach().clone().requires_grad_(True)
    if layer is None:
        if unit is not None:
            raise ArgumentError("unit needs a layer: pass layer=<name> with unit=... . "
                                f"Received: unit={unit!r}, layer=None.")
        captured = capture(model, x, [], grad=True)
        output = captured.output
        if not isinstance(output, torch.Tensor) or output.dim() != 2:
            raise ArgumentError(
                f"a class score needs a model whose output is (N, classes). Received: output "
                f"of shape {tuple(getattr(output, 'shape', ()))}. Pass layer= and unit= to "
                f"explain one unit instead.")
        t = _targets(target, output)
        return output.gather(1, t[:, None])[:, 0], x
    if unit is None:
        raise ArgumentError(f"layer={layer!r} needs unit=(channel, *position) to say which "
                            f"unit to explain. Received: unit=None.")
    name = resolve_layer(model, layer)
    captured = capture(model, x, [name], grad=True)
    if name not in captured:
        raise ArgumentError(f"layer {name!r} did not run in the forward pass, so it has no "
                            f"activation to explain. Received: layer={layer!r}.")
    act = captured[name]
    index = _unit_index(unit, tuple(act.shape[1:]), name)
    return act[(slice(None), *index)], x


def _reduce(grad: torch.Tensor, reduce: str) -> torch.Tensor:
    if reduce == "none":
        return grad
    return grad.abs().amax(dim=1)


def gradient(model: nn.Module, x, target=None, *, layer=None, unit=None,
             reduce: str = "max") -> torch.Tensor:
    """Vanilla gradient saliency: how strongly each input pixel moves the score.

    Args:
        model: a Network or any Module returning ``(N, classes)``.
        x: a batch ``(N, C, *spatial)`` (or one sample, for a Network).
        target: the class to explain: None (each sample's predicted class), an int, or one
            int per sample.
        layer, unit: explain one unit of a layer instead of a class: ``unit`` indexes the
            layer's output without the batch dimension (``(channel, y, x)`` for a volume).
        reduce: ``"max"`` (``max_c |grad|``, one map per sample) or ``"none"`` (the raw
            gradient, shaped like ``x``).

    Returns:
        ``(N, *spatial)`` maps (``reduce="max"``) or ``(N, C, *spatial)`` gradients.

    Raises:
        ArgumentError: a target outside the classes, an unknown layer, a bad unit.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 25, 3))
        >>> gradient(model, torch.rand(4, 1, 5, 5)).shape
        torch.Size([4, 5, 5])
        >>> g = gradient(model, torch.rand(1, 1, 5, 5), layer="0", unit=(1, 0, 0), reduce="none")
        >>> bool(g[0, 0, 3:, 3:].abs().sum() == 0)  # a 3x3 field at the corner sees 2x2 pixels
        True
    """
    one_of(reduce, ("max", "none"), "reduce")
    x = as_batch(model, x)
    score, xg = _score(model, x, target, layer, unit)
    (grad,) = torch.autograd.grad(score.sum(), xg)
    return _reduce(grad.detach(), reduce).cpu()


def smoothgrad(model: nn.Module, x, target=None, *, samples: int = 25, noise: float = 0.15,
               layer=None, unit=None, reduce: str = "max", batch_size: int = 256,
               seed: int = 0) -> torch.Tensor:
    """SmoothGrad: the gradient map averaged over ``samples`` noisy copies of each input.

    Args:
        model, x, target, layer, unit, reduce: as in :func:`gradient`; a target of None is
            each clean sample's predicted class.
        samples: noisy copies per input.
        noise: noise standard deviation as a fraction of each input's value range
            (``max - min``); 0.1 to 0.2 works well (the paper's figures).
        batch_size: copies per forward / backward pass.
        seed: seeds the noise, so that the map is reproducible.

    Shape:
        ``(N, C, *spatial)`` -> ``(N, *spatial)`` (or ``(N, C, *spatial)`` with
        ``reduce="none"``).

    Example:
        >>> model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 25, 3))
        >>> smoothgrad(model, torch.rand(2, 1, 5, 5), samples=8).shape
        torch.Size([2, 5, 5])
    """
    one_of(reduce, ("max", "none"), "reduce")
    positive_int(samples, "samples")
    positive_int(batch_size, "batch_size")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ArgumentError(f"noise must be a non-negative fraction of the input range. "
                            f"Received: noise={noise!r}. Typical: 0.15.")
    x = as_batch(model, x)
    n = x.shape[0]
    if layer is None:
        with torch.no_grad():
            target = _targets(target, capture(model, x, []).output)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    flat = x.reshape(n, -1)
    sigma = (flat.amax(dim=1) - flat.amin(dim=1)).clamp_min(1e-12) * noise
    sigma = sigma.reshape(n, *([1] * (x.dim() - 1)))
    total = torch.zeros_like(x) if reduce == "none" else torch.zeros(n, *x.shape[2:],
                                                                     dtype=x.dtype)
    total = total.cpu()
    per_pass = max(1, batch_size // max(1, n))
    done = 0
    while done < samples:
        k = min(per_pass, samples - done)
        eps = torch.randn((k, *x.shape), generator=generator).to(x) * sigma
        noisy = (x.unsqueeze(0) + eps).reshape(k * n, *x.shape[1:])
        repeat_target = None if target is None else torch.as_tensor(target).repeat(k)
        score, xg = _score(model, noisy, repeat_target, layer, unit)
        (grad,) = torch.autograd.grad(score.sum(), xg)
        total += _reduce(grad.detach(), reduce).reshape(k, n, *total.shape[1:]).sum(0).cpu()
        done += k
    return total / samples


def _last_volume(model, x) -> str:
    captured = capture(model, x)
    volumes = [name for name, t in captured.items() if t.dim() == x.dim()]
    if not volumes:
        raise ArgumentError(
            f"Grad-CAM needs a layer whose output is a spatial volume; {type(model).__name__} "
            f"has none among {', '.join(captured) or 'its layers'}. Received: layer=None.")
    return volumes[-1]


def _to_input_grid(maps: torch.Tensor, size: tuple, geometry) -> torch.Tensor:
    """Resample ``(N, *grid)`` unit maps onto the input's ``size``.

    With the layer's geometry each unit sits at its field's centre
    ``start + i * jump + (field - 1) / 2``; without it the grids are stretched end to end.
    """
    rank = len(size)
    if geometry is None or geometry.get("field") is None:
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]
        return F.interpolate(maps.unsqueeze(1), size=size, mode=mode,
                             align_corners=False)[:, 0]
    axes = []
    for d in range(rank):
        grid = maps.shape[1 + d]
        pixel = torch.arange(size[d], dtype=maps.dtype)
        centre = float(geometry["start"][d]) + (float(geometry["field"][d]) - 1) / 2
        u = (pixel - centre) / float(geometry["jump"][d])  # position in unit coordinates
        axes.append(2 * u / (grid - 1) - 1 if grid > 1 else torch.zeros_like(u))
    src = maps.unsqueeze(1)
    if rank == 1:  # grid_sample is 2-D / 3-D: add a unit height
        src = src.unsqueeze(2)
        axes = [torch.zeros(1, dtype=maps.dtype), axes[0]]
    mesh = torch.meshgrid(*axes, indexing="ij")
    grid = torch.stack(mesh[::-1], dim=-1)  # grid_sample wants (x, y[, z]) order
    grid = grid.unsqueeze(0).expand(maps.shape[0], *grid.shape)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(maps.shape[0], *size)


def grad_cam(model: nn.Module, x, target=None, *, layer=None, geometry=None,
             upsample: bool = True) -> torch.Tensor:
    """Grad-CAM: where in ``layer``'s maps the evidence for the class is.

    Args:
        model, x, target: as in :func:`gradient`.
        layer: a layer whose output is a spatial volume; None picks the last such layer.
        geometry: a :func:`cnnkit.inspect.layer_geometry` result to reuse (the layer's
            field / jump / start place the map on the input); computed when None.
        upsample: bring the map to the input's size (else keep the layer's grid).

    Returns:
        ``(N, *input_spatial)`` maps, ``relu(sum_k w_k A_k)`` with ``w_k`` the spatial mean
        of ``d score / d A_k`` (``(N, *layer_spatial)`` without ``upsample``).

    Raises:
        ArgumentError: the layer's output is not a spatial volume, or an unknown layer.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))
        >>> grad_cam(model, torch.rand(2, 1, 8, 8), layer="1").shape
        torch.Size([2, 8, 8])
    """
    x = as_batch(model, x)
    name = _last_volume(model, x) if layer is None else resolve_layer(model, layer)
    # The input carries the graph, so that the maps need a gradient even where the
    # parameters are frozen (requires_grad=False after fine-tuning).
    captured = capture(model, x.detach().requires_grad_(True), [name], grad=True)
    act = captured.get(name)
    if act is None or act.dim() != x.dim():
        shape = None if act is None else tuple(act.shape[1:])
        raise ArgumentError(
            f"Grad-CAM needs a layer whose output is a spatial volume (channels, *positions); "
            f"layer {name!r} gives {shape}. Received: layer={layer!r}. Pick a convolution or "
            f"pooling layer before the flatten.")
    output = captured.output
    t = _targets(target, output.detach())
    score = output.gather(1, t[:, None]).sum()
    (grad,) = torch.autograd.grad(score, act)
    weights = grad.mean(dim=tuple(range(2, grad.dim())), keepdim=True)
    cam = torch.relu((weights * act).sum(dim=1)).detach()
    if not upsample:
        return cam.cpu()
    if geometry is None:
        from .fields import layer_geometry

        try:
            geometry = layer_geometry(model, None if hasattr(model, "input_shape")
                                      else tuple(x.shape[1:]))
        except Exception:  # noqa: BLE001 - a model the summary cannot describe: stretch
            geometry = {}
    info = geometry.get(name) if geometry else None
    return _to_input_grid(cam.cpu().float(), tuple(x.shape[2:]), info)


def _windows(size: int, window: int, stride: int) -> list[int]:
    """Window starts from 0 to ``size - window``; the last one always reaches the end."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def occlusion(model: nn.Module, x, target=None, *, window=None, stride=None,
              baseline: float = 0.0, batch_size: int = 256) -> torch.Tensor:
    """Occlusion sensitivity: the fall in the class probability when a window is covered.

    Each image is copied once per window position with the window set to ``baseline``;
    all copies go through the model in batches of ``batch_size``. A pixel's value is the
    mean fall over the windows that cover it (positive: covering it hurts the class).

    Args:
        model, x, target: as in :func:`gradient`.
        window: window size per spatial dimension (an int for all); default about a
            seventh of the input (at least 2).
        stride: step between windows; default half the window.
        baseline: the value written into the window (0: black for inputs in [0, 1]).
        batch_size: occluded copies per forward pass.

    Returns:
        ``(N, *spatial)`` maps.

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
        >>> occlusion(model, torch.rand(3, 1, 4, 4), window=2, stride=1).shape
        torch.Size([3, 4, 4])
    """
    from .._validation import to_tuple

    x = as_batch(model, x)
    spatial = tuple(x.shape[2:])
    rank = len(spatial)
    if window is None:
        window = tuple(max(2, s // 7) if s >= 2 else 1 for s in spatial)
    window = to_tuple(window, rank, "window")
    if any(w > s for w, s in zip(window, spatial)):
        raise ArgumentError(f"window must fit the input of spatial size {spatial}. Received: "
                            f"window={window}.")
    stride = tuple(max(1, w // 2) for w in window) if stride is None else to_tuple(
        stride, rank, "stride")
    positive_int(batch_size, "batch_size")
    # One boolean row per window start and dimension; their outer product is the mask.
    per_dim = []
    for size, w, s in zip(spatial, window, stride):
        starts = torch.tensor(_windows(size, w, s))
        pos = torch.arange(size)
        per_dim.append((pos[None, :] >= starts[:, None]) & (pos[None, :] < starts[:, None] + w))
    masks = per_dim[0]
    for d in range(1, rank):
        ps, ss, rows = masks.shape[:d], masks.shape[d:], per_dim[d]
        masks = masks.reshape(*ps, 1, *ss, 1) & rows.reshape(*([1] * d), rows.shape[0],
                                                             *([1] * d), rows.shape[1])
    masks = masks.reshape(-1, *spatial).to(x.device)  # (P, *spatial)
    coverage = masks.sum(0).clamp_min(1).to(x.dtype)
    with torch.no_grad():
        base = torch.softmax(capture(model, x, []).output, dim=1)
        t = _targets(target, base)
        base_p = base.gather(1, t[:, None])[:, 0]
        out = torch.zeros(x.shape[0], *spatial, dtype=x.dtype, device=x.device)
        m = masks.unsqueeze(1).to(x.dtype)  # (P, 1, *spatial)
        for i in range(x.shape[0]):
            falls = []
            for start in range(0, masks.shape[0], batch_size):
                mb = m[start:start + batch_size]
                copies = x[i:i + 1] * (1 - mb) + baseline * mb
                p = torch.softmax(capture(model, copies, []).output, dim=1)[:, t[i]]
                falls.append(base_p[i] - p)
            fall = torch.cat(falls)
            out[i] = (fall.reshape(-1, *([1] * rank)) * masks.to(x.dtype)).sum(0) / coverage
    return out.cpu()

