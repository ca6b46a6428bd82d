"""Pictures of what a network predicts, one kind per task, from ``(model, task, inputs,
targets)``.

Each ``plot_*`` function runs the model on a few inputs (in eval mode, without gradients),
turns the outputs into predictions with the task (:meth:`cnnkit.tasks.Task.predict`) and
draws them beside the truth:

* segment: the input with the true and the predicted mask over it (one colour per class,
  unlabelled positions grey); a 1-D signal with coloured label bands under it; the middle
  slice of a volume (:func:`plot_segmentation`);
* detect: the image with the true boxes dashed and the predicted ones solid, with class
  and score (:func:`plot_detection`);
* reconstruct: input, reconstruction, clean target (denoising) and the absolute
  difference, with each sample's PSNR (:func:`plot_reconstruction`);
* regress: predicted against true values with the diagonal and R², and the residuals
  (:func:`plot_regression`);
* multilabel: per-label precision, recall and F1 at the task's threshold
  (:func:`plot_multilabel`).

:func:`task_figures` gives the pictures a task's report shows. The image panels are drawn
into NumPy arrays (:func:`mask_overlay`, :func:`draw_box`, :func:`trace_panel`) and laid
out at whole pixels, so every coloured pixel can be checked; the charts are matplotlib
axes. Sources for the pictures: Long, Shelhamer and Darrell 2015 (FCN masks over inputs),
Everingham et al. 2010 (VOC boxes), Goodfellow, Bengio and Courville 2016, ch. 14
(autoencoder reconstructions).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from .._validation import ArgumentError, ArgumentTypeError, ShapeError
from . import plots
from .plots import _Layout, _array, _panel_size, _resize

__all__ = ["CLASS_COLOURS", "IGNORE_COLOUR", "class_colour", "display_image", "draw_box",
           "mask_overlay", "plot_detection", "plot_multilabel", "plot_reconstruction",
           "plot_regression", "plot_segmentation", "run_model", "task_figures", "trace_panel"]

# Matplotlib's tab10, as uint8: one colour per class (cycled past 10).
CLASS_COLOURS = np.array([
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]],
    dtype=np.uint8)
IGNORE_COLOUR = np.array([160, 160, 160], dtype=np.uint8)  # unlabelled positions
TRUE_COLOUR = np.array([0, 200, 83], dtype=np.uint8)       # truth lines in traces


def class_colour(k: int) -> np.ndarray:
    """The colour of class ``k``: ``CLASS_COLOURS[k % 10]`` (uint8 RGB).

    Example:
        >>> class_colour(11).tolist()
        [255, 127, 14]
    """
    return CLASS_COLOURS[int(k) % len(CLASS_COLOURS)]


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module. Received: "
                                f"{type(model).__name__}.", argument="model")
    return model


def _check_task(task, *names):
    from ..tasks import Task

    if not isinstance(task, Task):
        raise ArgumentTypeError(f"task must be a cnnkit.tasks.Task (make_task('{names[0]}')). "
                                f"Received: {type(task).__name__}.", argument="task")
    if names and task.name not in names:
        raise ArgumentError(f"this picture is for task {' or '.join(names)}. Received: task="
                            f"{task.name!r}.", argument="task")
    return task


def _inputs(inputs) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor):
        inputs = torch.as_tensor(np.asarray(inputs))
    if inputs.dim() < 2:
        raise ShapeError(f"inputs must be a batch (N, C, ...). Received: shape "
                         f"{tuple(inputs.shape)}.", argument="inputs")
    return inputs


def run_model(model: nn.Module, inputs, batch_size: int = 256) -> torch.Tensor:
    """The model's raw outputs for ``inputs``, in eval mode, without gradients, batch by
    batch (the model's mode is restored afterwards).

    Example:
        >>> run_model(nn.Linear(3, 2), torch.zeros(5, 3)).shape
        torch.Size([5, 2])
    """
    model = _check_model(model)
    x = _inputs(inputs)
    try:
        p = next(model.parameters())
        device, dtype = p.device, p.dtype
    except StopIteration:
        device, dtype = x.device, torch.float32
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            outs = [model(x[i:i + batch_size].to(device, dtype if x.is_floating_point()
                                                 else x.dtype))
                    for i in range(0, len(x), batch_size)]
    finally:
        model.train(was)
    return torch.cat(outs).cpu() if outs else torch.zeros(0)


# --------------------------------------------------------------------------------------
# Panels as NumPy arrays
# --------------------------------------------------------------------------------------

def display_image(x) -> np.ndarray:
    """One input sample as an ``(H, W, 3)`` uint8 picture: a 2-D image as it is (values
    outside [0, 1], e.g. standardised, scaled by their range), the middle depth slice of
    a volume ``(C, D, H, W)``, or a 1-D signal ``(C, T)`` drawn as traces.

    Example:
        >>> display_image(torch.zeros(1, 4, 6)).shape, display_image(torch.zeros(2, 3, 4, 5)).shape
        ((4, 6, 3), (4, 5, 3))
    """
    v = _array(x)
    if v.ndim == 2:
        return trace_panel(v)
    if v.ndim == 4:
        v = v[:, v.shape[1] // 2]
    if v.ndim != 3:
        raise ShapeError(f"a sample must be (channels, *spatial) with 1 to 3 spatial "
                         f"dimensions. Received: shape {v.shape}.", argument="inputs")
    lo, hi = float(v.min()), float(v.max())
    if lo < 0 or hi > 1:
        v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    return plots.image_rgb(v)


def _spatial_mask(mask: np.ndarray) -> np.ndarray:
    """A mask as 2-D: a volume's middle slice (as :func:`display_image`)."""
    return mask[mask.shape[0] // 2] if mask.ndim == 3 else mask


def mask_overlay(image_rgb: np.ndarray, mask, *, alpha: float = 0.5,
                 ignore_index: int | None = 255, clear=()) -> np.ndarray:
    """A class mask ``(H, W)`` over an image ``(H, W, 3)``: each position blended with its
    class's colour (:func:`class_colour`), unlabelled ones (``ignore_index``) with grey,
    and those of the classes in ``clear`` (a background class) left as they are.

    Example:
        >>> out = mask_overlay(np.zeros((1, 2, 3), np.uint8), np.array([[0, 255]]), alpha=1.0)
        >>> out.tolist()
        [[[31, 119, 180], [160, 160, 160]]]
    """
    m = np.asarray(_array(mask)).astype(np.int64)
    if m.shape != image_rgb.shape[:2]:
        raise ShapeError(f"the mask must have the image's size {image_rgb.shape[:2]}. "
                         f"Received: mask of shape {m.shape}.", argument="mask")
    colours = CLASS_COLOURS[np.mod(m, len(CLASS_COLOURS))]
    if ignore_index is not None:
        colours[m == ignore_index] = IGNORE_COLOUR
    out = (1 - alpha) * image_rgb.astype(np.float32) + alpha * colours.astype(np.float32)
    out = (out + 0.5).astype(np.uint8)
    for k in clear:
        out[m == k] = image_rgb[m == k]
    return out


def draw_box(rgb: np.ndarray, box, colour, *, width: int = 2, dashed: bool = False) -> np.ndarray:
    """Draw the outline of ``box`` (``x0, y0, x1, y1`` in pixels, inclusive) on ``rgb`` in
    place (dashes of 4 pixels where ``dashed``); returns ``rgb``.

    Example:
        >>> img = draw_box(np.zeros((6, 6, 3), np.uint8), (1, 1, 4, 4), (255, 0, 0), width=1)
        >>> int(img[1, 2, 0]), int(img[2, 2, 0])
        (255, 0)
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, x1 = sorted((max(0, min(w - 1, x0)), max(0, min(w - 1, x1))))
    y0, y1 = sorted((max(0, min(h - 1, y0)), max(0, min(h - 1, y1))))
    colour = np.asarray(colour, dtype=np.uint8)

    def keep(n):
        return (np.arange(n) // 4) % 2 == 0 if dashed else np.ones(n, dtype=bool)

    cols, rows = np.arange(x0, x1 + 1), np.arange(y0, y1 + 1)
    cols, rows = cols[keep(len(cols))], rows[keep(len(rows))]
    for t in range(width):
        for y in (min(y0 + t, y1), max(y1 - t, y0)):
            rgb[y, cols] = colour
        for x in (min(x0 + t, x1), max(x1 - t, x0)):
            rgb[rows, x] = colour
    return rgb


def trace_panel(values, *, height: int = 48, width: int | None = None, colours=None,
                lo=None, hi=None, background=255) -> np.ndarray:
    """Traces over time as an ``(height, width, 3)`` uint8 picture: one line per row of
    ``values`` ``(C, T)`` (or one ``(T,)``), all on one vertical scale (``lo`` to ``hi``,
    default the values' range), each column one time step stretched to ``width``.

    Example:
        >>> p = trace_panel(np.array([0.0, 1.0]), height=4, width=2, colours=[(0, 0, 0)])
        >>> p[:, :, 0].tolist()  # the first step at the bottom, the second at the top
        [[255, 0], [255, 0], [255, 0], [0, 0]]
    """
    v = _array(values)
    v = v[None] if v.ndim == 1 else v.reshape(v.shape[0], -1)
    channels, steps = v.shape
    width = width or max(steps, min(4 * steps, 320))
    lo = float(v.min()) if lo is None else float(lo)
    hi = float(v.max()) if hi is None else float(hi)
    out = np.full((height, width, 3), background, dtype=np.uint8)
    cols = np.minimum(np.arange(width) * steps // width, steps - 1)
    for c in range(channels):
        colour = np.asarray(colours[c % len(colours)] if colours is not None
                            else class_colour(c), dtype=np.uint8)
        scaled = (v[c] - lo) / (hi - lo) if hi > lo else np.full(steps, 0.5)
        y = np.round((1 - np.clip(scaled, 0, 1)) * (height - 1)).astype(int)[cols]
        prev = np.concatenate([y[:1], y[:-1]])
        for x in range(width):  # a vertical run joins each step to the one before
            a, b = sorted((int(prev[x]), int(y[x])))
            out[a:b + 1, x] = colour
    return out


def _band(labels: np.ndarray, width: int, height: int = 8,
          ignore_index: int | None = 255) -> np.ndarray:
    """Labels over time ``(T,)`` as a coloured band ``(height, width, 3)``."""
    steps = labels.shape[0]
    cols = np.minimum(np.arange(width) * steps // width, steps - 1)
    colours = CLASS_COLOURS[np.mod(labels, len(CLASS_COLOURS))]
    if ignore_index is not None:
        colours[labels == ignore_index] = IGNORE_COLOUR
    return np.repeat(colours[cols][None], height, axis=0)


def _stack(*panels: np.ndarray, gap: int = 2) -> np.ndarray:
    """Panels one above the other, white between them."""
    width = max(p.shape[1] for p in panels)
    rows = []
    for k, p in enumerate(panels):
        if p.shape[1] < width:
            p = np.concatenate([p, np.full((p.shape[0], width - p.shape[1], 3), 255,
                                           np.uint8)], axis=1)
        rows.append(p)
        if k < len(panels) - 1:
            rows.append(np.full((gap, width, 3), 255, np.uint8))
    return np.concatenate(rows, axis=0)


def _pick(inputs, targets, max_samples: int):
    x = _inputs(inputs)
    n = min(len(x), max_samples)
    if n == 0:
        raise ArgumentError("the pictures need at least one sample. Received: 0 inputs.",
                            argument="inputs")
    y = None if targets is None else torch.as_tensor(targets)[:n]
    if y is not None and len(y) < n:
        raise ShapeError(f"targets must have one row per input. Received: {len(x)} inputs, "
                         f"{len(torch.as_tensor(targets))} targets.", argument="targets")
    return x[:n], y


def _names(classes, k: int) -> list[str]:
    classes = list(classes or [])
    return [str(classes[i]) if i < len(classes) else str(i) for i in range(k)]


def _background(names: list[str]) -> tuple[int, ...]:
    """The classes named background: left uncoloured in masks, so the objects stand out."""
    return tuple(i for i, n in enumerate(names) if n.lower() in ("background", "bg"))


def _legend(layout: _Layout, names: list[str], clear=()) -> None:
    """One swatch per class with its name (at most 20)."""
    swatches, captions = [], []
    for i, name in enumerate(names[:20]):
        swatch = np.full((12, 12, 3), 255 if i in clear else class_colour(i), np.uint8)
        if i in clear:
            draw_box(swatch, (0, 0, 11, 11), (120, 120, 120), width=1)
        swatches.append(swatch)
        captions.append(name + (" (clear)" if i in clear else ""))
    layout.text("classes" + (f" (first 20 of {len(names)})" if len(names) > 20 else ""), 10,
                bold=True)
    # a swatch with its name to the right, each as wide as its own name, wrapped at 640 px
    from .plots import _text_width

    x, y, row_width = _Layout.MARGIN, layout.y, 640
    for swatch, caption in zip(swatches, captions):
        width = 12 + 4 + _text_width(caption, 9) + 10
        if x + width > row_width and x > _Layout.MARGIN:
            x, y = _Layout.MARGIN, y + 18
        layout.items.append(("image", x, y, swatch))
        layout.items.append(("text", x + 16, y, caption, 9, False))
        layout.width = max(layout.width, x + width + _Layout.MARGIN)
        x += width
    layout.y = y + 18


# --------------------------------------------------------------------------------------
# The pictures
# --------------------------------------------------------------------------------------

def plot_segmentation(model: nn.Module, task, inputs, targets=None, *, classes=None,
                      max_samples: int = 6, panel: int = 96):
    """Inputs with the true and the predicted masks over them (segment).

    Rows: one per sample. 2-D: input, true mask over it (when ``targets`` are given),
    predicted mask over it. 3-D: the same at the middle depth slice. 1-D: the signal's
    traces with a band of the true labels and one of the predicted labels under it.

    Args:
        model: a network whose output is ``(K, *spatial)`` class scores per sample.
        task: a :class:`cnnkit.tasks.Segment` task.
        inputs: ``(N, C, *spatial)``; the first ``max_samples`` are drawn.
        targets: ``(N, *spatial)`` int labels (``task.ignore_index`` unlabelled), or None.
        classes: class names for the legend.

    Returns:
        A Figure; ``fig.images`` holds the panels in row order (each an ``(H, W, 3)``
        uint8 array).

    Example:
        >>> from cnnkit.tasks import make_task
        >>> net = nn.Conv2d(1, 3, 1)
        >>> fig = plot_segmentation(net, make_task("segment"), torch.rand(2, 1, 8, 8),
        ...                         torch.zeros(2, 8, 8, dtype=torch.long))
        >>> len(fig.images)  # input, truth, prediction for 2 samples; 3 class swatches
        9
    """
    task = _check_task(task, "segment")
    x, y = _pick(inputs, targets, max_samples)
    outputs = run_model(model, x)
    mask = task.predict(outputs)["mask"].numpy()
    k = int(outputs.shape[1])
    ignore = task.ignore_index
    names = _names(classes, k)
    clear = _background(names)
    layout = _Layout()
    if x.dim() == 3:  # 1-D signals
        panels, captions = [], []
        for i in range(len(x)):
            trace = trace_panel(x[i], height=56, width=max(4 * x.shape[-1], 160))
            w = trace.shape[1]
            parts = [trace]
            if y is not None:
                parts.append(_band(y[i].numpy().astype(np.int64), w, ignore_index=ignore))
            parts.append(_band(mask[i], w, ignore_index=ignore))
            panels.append(_stack(*parts))
            captions.append(f"sample {i}: signal, " + ("true labels, " if y is not None else "")
                            + "predicted labels")
        layout.grid(panels, 1, captions=captions, caption_size=9)
    else:
        panels, captions = [], []
        for i in range(len(x)):
            img = display_image(x[i])
            h, w = _panel_size(*img.shape[:2], panel)
            row = [img]
            kinds = ["input"]
            if y is not None:
                row.append(mask_overlay(img, _spatial_mask(y[i].numpy()), ignore_index=ignore,
                                        clear=clear))
                kinds.append("true")
            row.append(mask_overlay(img, _spatial_mask(mask[i]), ignore_index=ignore,
                                    clear=clear))
            kinds.append("predicted")
            panels.extend(_resize(p, h, w) for p in row)
            captions.extend(kinds)
        if x.dim() == 5:
            layout.text(f"middle depth slice ({x.shape[2] // 2} of {x.shape[2]})", 9)
        layout.grid(panels, len(panels) // len(x), captions=captions, caption_size=10)
    _legend(layout, names, clear)
    return layout.figure()


def _box_pixels(box, h: int, w: int):
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0 * w, y0 * h, x1 * w - 1, y1 * h - 1


def plot_detection(model: nn.Module, task, inputs, targets=None, *, classes=None,
                   max_samples: int = 6, min_score: float = 0.3, panel: int = 160):
    """Images with the true boxes dashed and the predicted boxes solid, labelled with class
    and score (detect).

    Args:
        model: a grid (YOLO v1 style) or RoI head detector.
        task: a :class:`cnnkit.tasks.Detect` task (its NMS settings apply).
        inputs: ``(N, C, H, W)`` images.
        targets: ``(N, M, 5)`` rows ``[class, cx, cy, w, h]`` in [0, 1] (class -1 padding),
            or None.
        min_score: predicted boxes scoring below this are not drawn.

    Returns:
        A Figure with one panel per image (``fig.images``) and one text per drawn
        prediction (``"<class> <score>"``) after the captions.

    Example:
        >>> from cnnkit.tasks import make_task
        >>> net = nn.Conv2d(1, 12, 4, stride=4)  # 5B + C = 12 scores on a 2x2 grid
        >>> fig = plot_detection(net, make_task("detect", num_classes=2), torch.rand(1, 1, 8, 8))
        >>> len(fig.images)
        1
    """
    task = _check_task(task, "detect")
    x, y = _pick(inputs, targets, max_samples)
    if x.dim() != 4:
        raise ShapeError(f"detection pictures are of 2-D images (N, C, H, W). Received: "
                         f"inputs of shape {tuple(x.shape)}.", argument="inputs")
    outputs = run_model(model, x)
    found = task.predict(outputs)
    names = _names(classes, task.num_classes or 0)
    layout = _Layout()
    layout.text(f"dashed: true boxes; solid: predicted (score >= {min_score:g}, after NMS "
                f"at IoU {task.nms_iou:g})", 9)
    img0 = display_image(x[0])
    h, w = _panel_size(*img0.shape[:2], panel)
    panels, labels = [], []
    for i in range(len(x)):
        rgb = _resize(display_image(x[i]), h, w).copy()
        if y is not None:
            from ..functional.boxes import cxcywh_to_xyxy

            rows = y[i][y[i][:, 0] >= 0]
            for row in rows:
                box = cxcywh_to_xyxy(row[1:5].float()[None])[0]
                draw_box(rgb, _box_pixels(box, h, w), class_colour(int(row[0])), dashed=True)
        mine = []
        for box, score, cls, ok in zip(found["boxes"][i], found["scores"][i],
                                       found["classes"][i], found["valid"][i]):
            if bool(ok) and float(score) >= min_score:
                px = _box_pixels(box, h, w)
                draw_box(rgb, px, class_colour(int(cls)))
                name = names[int(cls)] if int(cls) < len(names) else str(int(cls))
                mine.append((px, f"{name} {float(score):.2f}"))
        panels.append(rgb)
        labels.append(mine)
    start = len(layout.items)
    layout.grid(panels, min(3, len(panels)), captions=[f"image {i}: {len(m)} predicted"
                                                       for i, m in enumerate(labels)],
                caption_size=9)
    # one label per predicted box, at its top-left corner inside the panel
    placed = [item for item in layout.items[start:] if item[0] == "image"]
    for (_, px0, py0, _), mine in zip(placed, labels):
        for (bx0, by0, _, _), text in mine:
            layout.items.append(("text", px0 + int(bx0) + 2, py0 + max(0, int(by0) - 2), text,
                                 8, True))
    return layout.figure()


def _psnr(a: torch.Tensor, b: torch.Tensor, data_range: float) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(data_range ** 2 / mse)


def plot_reconstruction(model: nn.Module, task, inputs, targets=None, *, max_samples: int = 6,
                        panel: int = 80, seed: int = 0):
    """Inputs beside their reconstructions (reconstruct), with each sample's PSNR.

    Columns: the input the network is given (noised for a denoising autoencoder, with the
    task's ``noise`` and a fixed ``seed``), the reconstruction, the clean target when it
    differs from the input, and the absolute difference between reconstruction and target
    (inferno, 0 to the largest difference shown). 1-D signals: input (grey), target
    (green) and reconstruction (blue) traces in one panel; volumes: the middle slice.

    Returns:
        A Figure; ``fig.images`` holds the panels row by row.

    Example:
        >>> from cnnkit.tasks import make_task
        >>> fig = plot_reconstruction(nn.Identity(), make_task("reconstruct"), torch.rand(2, 1, 6, 6))
        >>> len(fig.images), fig.texts[1].get_text()
        (6, 'reconstruction, PSNR inf dB')
    """
    task = _check_task(task, "reconstruct")
    x, _ = _pick(inputs, None, max_samples)
    generator = torch.Generator().manual_seed(seed)
    given, clean = task.prepare(x.float(), x.float(), generator=generator)
    out = run_model(model, given).float()
    if out.shape != clean.shape:
        raise ShapeError(f"the reconstruction {tuple(out.shape[1:])} must have the input's "
                         f"shape {tuple(clean.shape[1:])}.", argument="model")
    noised = bool(task.noise)
    layout = _Layout()
    panels, captions = [], []
    diff = (out - clean).abs()
    if x.dim() == 3:
        for i in range(len(x)):
            lo = float(min(given[i].min(), clean[i].min(), out[i].min()))
            hi = float(max(given[i].max(), clean[i].max(), out[i].max()))
            width = max(4 * x.shape[-1], 160)
            parts = [trace_panel(given[i], width=width, colours=[(170, 170, 170)], lo=lo, hi=hi)]
            over = trace_panel(clean[i], width=width, colours=[TRUE_COLOUR], lo=lo, hi=hi)
            rec = trace_panel(out[i], width=width, colours=[CLASS_COLOURS[0]], lo=lo, hi=hi)
            merged = parts[0].copy()
            for p in (over, rec):
                ink = (p != 255).any(axis=2)
                merged[ink] = p[ink]
            panels.append(merged)
            captions.append(f"sample {i}: grey input, green target, blue reconstruction, "
                            f"PSNR {_psnr(out[i], clean[i], task.data_range):.1f} dB")
        layout.grid(panels, 1, captions=captions, caption_size=9)
        return layout.figure()
    top = float(diff.max()) or 1.0
    for i in range(len(x)):
        img = display_image(given[i])
        h, w = _panel_size(*img.shape[:2], panel)
        row = [(img, "input (noised)" if noised else "input"),
               (display_image(out[i].clamp(0, task.data_range) / task.data_range),
                f"reconstruction, PSNR {_psnr(out[i], clean[i], task.data_range):.1f} dB")]
        if noised:
            row.append((display_image(clean[i]), "target"))
        d = diff[i].mean(0)
        d = d[d.shape[0] // 2] if d.dim() == 3 else d
        row.append((plots.colorize(d, "inferno", 0, top), "|difference|"))
        panels.extend(_resize(p, h, w) for p, _ in row)
        captions.extend(c for _, c in row)
    columns = len(panels) // len(x)
    layout.grid(panels, columns, captions=captions, caption_size=9)
    return layout.figure()


def _columns(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().double().cpu()
    return t.reshape(len(t), -1) if t.dim() != 1 else t[:, None]


def plot_regression(model: nn.Module, task, inputs, targets, *, names=None,
                    max_outputs: int = 4):
    """Predicted against true values (regress): one scatter per output (the first
    ``max_outputs``) with the diagonal and R², and a histogram of the residuals.

    An output with more than 16 values per sample (a dense map) is one scatter of all its
    values.

    Returns:
        A Figure; axes 0..n-1 are the scatters (their first collection's offsets are the
        (true, predicted) points), the last axes the residual histogram.

    Example:
        >>> from cnnkit.tasks import make_task
        >>> fig = plot_regression(nn.Linear(2, 1), make_task("regress"), torch.rand(9, 2), torch.rand(9, 1))
        >>> [ax.get_xlabel() for ax in fig.axes]
        ['true', 'predicted - true']
    """
    task = _check_task(task, "regress")
    if targets is None:
        raise ArgumentError("plot_regression needs the true values. Received: targets=None.",
                            argument="targets")
    x, y = _pick(inputs, targets, len(_inputs(inputs)))
    pred, true = _columns(run_model(model, x)), _columns(y)
    if pred.shape != true.shape:
        raise ShapeError(f"the predictions {tuple(pred.shape)} and targets {tuple(true.shape)} "
                         f"must have the same shape.", argument="targets")
    if pred.shape[1] > 16:
        pred, true, labels = pred.reshape(-1, 1), true.reshape(-1, 1), ["all values"]
    else:
        labels = _names(names, pred.shape[1])
    shown = min(pred.shape[1], max_outputs)
    fig = plots._figure(3.2 * (shown + 1), 3.3)
    for j in range(shown):
        ax = fig.add_subplot(1, shown + 1, j + 1)
        t, p = true[:, j].numpy(), pred[:, j].numpy()
        ax.scatter(t, p, s=6, alpha=0.6, color="#1f77b4")
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="#d62728", linewidth=1)
        ss_res = float(((t - p) ** 2).sum())
        ss_tot = float(((t - t.mean()) ** 2).sum())
        r2 = 1 - ss_res / ss_tot if ss_tot > 0 else float("nan")
        ax.set_title(f"{labels[j]}: R\u00b2 {r2:.3f}", fontsize=9)
        ax.set_xlabel("true" if j == 0 else "")
        if j == 0:
            ax.set_ylabel("predicted")
        ax.tick_params(labelsize=7)
    ax = fig.add_subplot(1, shown + 1, shown + 1)
    ax.hist((pred - true).numpy().ravel(), bins=30, color="#7f7f7f")
    ax.set_title("residuals", fontsize=9)
    ax.set_xlabel("predicted - true")
    ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.08, bottom=0.16, right=0.98, top=0.88, wspace=0.35)
    return fig


def plot_multilabel(model: nn.Module, task, inputs, targets, *, names=None):
    """Per-label precision, recall and F1 at the task's threshold (multilabel), as grouped
    bars, with each label's average precision in its tick label.

    Returns:
        A Figure with one axes; its ``containers`` are the precision, recall and F1 bars
        (one bar per label each).

    Example:
        >>> from cnnkit.tasks import make_task
        >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> fig = plot_multilabel(nn.Identity(), make_task("multilabel", num_classes=2), y * 8 - 4, y)
        >>> [float(b.get_height()) for b in fig.axes[0].containers[0]]
        [1.0, 1.0]
    """
    task = _check_task(task, "multilabel")
    if targets is None:
        raise ArgumentError("plot_multilabel needs the true labels. Received: targets=None.",
                            argument="targets")
    x, y = _pick(inputs, targets, len(_inputs(inputs)))
    outputs = run_model(model, x)
    if task.num_classes is None:
        task.num_classes = int(outputs.shape[1])
    meter = task.meter()
    meter.update(outputs, y.float())
    scores = meter.compute()
    k = len(scores["precision"])
    labels = _names(names, k)
    ap = scores["average_precision"]
    fig = plots._figure(max(5.0, 0.55 * k + 2), 3.6)
    ax = fig.add_subplot(1, 1, 1)
    pos = np.arange(k)
    for j, (key, colour) in enumerate((("precision", "#1f77b4"), ("recall", "#ff7f0e"),
                                      ("f1", "#2ca02c"))):
        values = [0.0 if v is None or v != v else float(v) for v in scores[key]]
        ax.bar(pos + (j - 1) * 0.27, values, 0.27, label=key, color=colour)
    ax.set_xticks(pos, [f"{n}\nAP {a:.2f}" if a is not None and a == a else f"{n}\nAP -"
                        for n, a in zip(labels, ap)], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"per label at threshold {task.threshold:g} (mean F1 "
                 f"{scores['mean_f1']:.3f})", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.subplots_adjust(left=0.08, bottom=0.2, right=0.98, top=0.9)
    return fig


def task_figures(model: nn.Module, task, inputs, targets, *, classes=None,
                 examples: int = 6) -> list[tuple[str, str, object, str]]:
    """The pictures a run report shows for ``task``: ``(id, title, Figure, note)`` each.

    Classification's pictures (confusion matrix, most confidently wrong, embedding) are
    drawn by :func:`cnnkit.inspect.report.build_report` itself; this gives the other
    tasks' pictures, and an empty list for classify.

    Example:
        >>> from cnnkit.tasks import make_task
        >>> [f[0] for f in task_figures(nn.Identity(), make_task("reconstruct"), torch.rand(3, 1, 6, 6), None)]
        ['reconstructions']
    """
    task = _check_task(task)
    name = task.name
    if name == "segment":
        return [("masks", "Predicted masks", plot_segmentation(
            model, task, inputs, targets, classes=classes, max_samples=examples),
            "Each test sample with its true and predicted masks (one colour per class, "
            "unlabelled positions grey).")]
    if name == "detect":
        return [("boxes", "Predicted boxes", plot_detection(
            model, task, inputs, targets, classes=classes, max_samples=examples),
            "True boxes dashed, predicted boxes solid with class and score.")]
    if name == "reconstruct":
        return [("reconstructions", "Reconstructions", plot_reconstruction(
            model, task, inputs, max_samples=examples),
            "Input, reconstruction (with its PSNR) and the absolute difference.")]
    if name == "regress":
        return [("scatter", "Predicted against true", plot_regression(
            model, task, inputs, targets, names=classes),
            "One point per test sample; the red line is predicted = true.")]
    if name == "multilabel":
        return [("labels", "Per-label precision and recall", plot_multilabel(
            model, task, inputs, targets, names=classes),
            "Precision, recall and F1 of each label over the test set, with its average "
            "precision under the name.")]
    return []
