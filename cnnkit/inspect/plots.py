"""Figures of what :mod:`cnnkit.inspect` computes, as matplotlib Figures and PNG bytes.

Figures are made with ``matplotlib.figure.Figure`` and the Agg canvas directly (no
pyplot, no global state, no window), so they work in a server thread and on a machine
without a display. Every ``plot_*`` function returns a Figure; :func:`to_png` turns it
into PNG bytes (and writes a file). The arrays behind every picture come from the
computing functions (``capture``, ``conv_filters``, ``gradient``, ...), so a user can draw
them their own way.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from .._validation import ArgumentError, ShapeError

__all__ = ["colorize", "image_rgb", "plot_activations", "plot_confusion", "plot_curves", "plot_embedding",
           "plot_examples", "plot_filters", "plot_receptive_field", "plot_saliency",
           "to_png", "volume_title"]

_DPI = 80


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig, path=None) -> bytes:
    """PNG bytes of ``fig`` (written to ``path`` too when given).

    Example:
        >>> png = to_png(plot_examples(torch.rand(2, 1, 8, 8), ["a", "b"]))
        >>> png[:4]
        b'\\x89PNG'
    """
    buffer = io.BytesIO()
    # No "Software" text chunk: the bytes depend on the picture only.
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={"Software": None})
    data = buffer.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data


def _array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _show_image(ax, image, cmap="gray"):
    """An image (C, H, W) on axes: grey for one channel, RGB for three, else the mean."""
    image = _array(image)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise ShapeError(f"an image must be (channels, height, width). Received: shape "
                         f"{image.shape}.")
    if image.shape[0] == 3:
        ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1), interpolation="nearest")
    else:
        ax.imshow(image.mean(axis=0), cmap=cmap, interpolation="nearest")
    _bare(ax)


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def volume_title(name: str, shape, kind: str | None = None) -> str:
    """``"layers.0 conv: 6x28x28"``: a layer's name and its volume's shape.

    Example:
        >>> volume_title("layers.3", (16, 10, 10), "conv")
        'layers.3 conv: 16x10x10'
    """
    dims = "x".join(str(int(v)) for v in shape)
    return f"{name}{' ' + kind if kind else ''}: {dims}"


# --------------------------------------------------------------------------------------
# Panel grids: images placed at pixel positions (figimage), without one Axes per panel,
# so that a layer of 64 maps draws in milliseconds. Each panel is one entry of
# ``fig.images``; the PNG is exactly the laid-out size.
# --------------------------------------------------------------------------------------

def colorize(values, cmap: str = "viridis", vmin=None, vmax=None) -> np.ndarray:
    """A 2-D array as ``(H, W, 3)`` uint8 colours (``vmin`` / ``vmax``: the ends of the
    colour scale; default the array's own range).

    Example:
        >>> colorize(np.array([[0.0, 1.0]]), "gray").tolist()
        [[[0, 0, 0], [255, 255, 255]]]
    """
    from matplotlib import colormaps

    v = _array(values)
    lo = float(v.min()) if vmin is None else float(vmin)
    hi = float(v.max()) if vmax is None else float(vmax)
    scaled = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    rgba = colormaps[cmap](np.clip(scaled, 0, 1), bytes=True)
    return rgba[..., :3]


def image_rgb(image) -> np.ndarray:
    """An input image ``(C, H, W)`` in [0, 1] as ``(H, W, 3)`` uint8: grey for one channel,
    RGB for three, the channel mean otherwise."""
    img = _array(image)
    if img.ndim == 2:
        img = img[None]
    if img.ndim != 3:
        raise ShapeError(f"an image must be (channels, height, width). Received: shape "
                         f"{img.shape}.")
    img = img.transpose(1, 2, 0) if img.shape[0] == 3 else np.repeat(
        img.mean(axis=0)[..., None], 3, axis=2)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def _resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize: every unit stays a crisp block."""
    rows = (np.arange(height) * rgb.shape[0] // height).clip(0, rgb.shape[0] - 1)
    cols = (np.arange(width) * rgb.shape[1] // width).clip(0, rgb.shape[1] - 1)
    return rgb[rows][:, cols]


def _panel_size(h: int, w: int, target: int = 56) -> tuple[int, int]:
    scale = target / max(h, w)
    if scale >= 1:
        scale = max(1, int(scale))  # whole-pixel blocks
    return max(1, round(h * scale)), max(1, round(w * scale))


def _text_width(text: str, size: int) -> int:
    """Pixels that ``text`` at layout size ``size`` takes at most (DejaVu Sans is drawn at
    ``0.75 size`` points, 80 dpi: ``0.83 size`` pixels per em; no glyph is wider than
    ``0.7`` em but W and M, and an arrow is one em)."""
    ems = sum(1.0 if ord(ch) > 0x2000 or ch in "MWmw" else 0.7 for ch in text)
    return int(ems * 0.83 * size) + 2


class _Layout:
    """Places panels and text top to bottom in pixels, then draws one Figure."""

    GAP = 4
    MARGIN = 8

    def __init__(self):
        self.items: list[tuple] = []
        self.y = self.MARGIN
        self.width = 0

    def text(self, text: str, size: int = 10, x: int | None = None, bold: bool = False):
        self.items.append(("text", x if x is not None else self.MARGIN, self.y, text, size,
                           bold))
        self.width = max(self.width, self.MARGIN * 2 + _text_width(text, size))
        self.y += int(size * 1.5)

    def grid(self, panels: list[np.ndarray], columns: int, captions=None, caption_size=8):
        if not panels:
            return
        ph = max(p.shape[0] for p in panels)
        pw = max(p.shape[1] for p in panels)
        cap = int(caption_size * 1.5) if captions else 0
        if captions:  # a column as wide as its widest caption: captions never overlap
            pw = max(pw, max(_text_width(str(c), caption_size) for c in captions))
        columns = max(1, min(columns, len(panels)))
        for k, panel in enumerate(panels):
            r, c = divmod(k, columns)
            x = self.MARGIN + c * (pw + self.GAP)
            y = self.y + r * (ph + cap + self.GAP)
            if captions:
                self.items.append(("text", x, y, str(captions[k]), caption_size, False))
            self.items.append(("image", x, y + cap, panel))
        rows = -(-len(panels) // columns)
        self.width = max(self.width, self.MARGIN * 2 + columns * (pw + self.GAP) - self.GAP)
        self.y += rows * (ph + cap + self.GAP) + self.GAP

    def space(self, pixels: int):
        self.y += pixels

    def figure(self):
        height = self.y + self.MARGIN
        width = max(self.width, 120)
        fig = _figure(width / _DPI, height / _DPI)
        for item in self.items:
            if item[0] == "image":
                _, x, y, panel = item
                fig.figimage(panel, xo=x, yo=height - y - panel.shape[0], origin="upper")
            else:
                _, x, y, text, size, bold = item
                fig.text(x / width, 1 - (y + size * 1.1) / height, text, fontsize=size * 0.75,
                         fontweight="bold" if bold else "normal", va="baseline")
        return fig


def plot_activations(activations: dict, sample: int = 0, *, max_maps: int = 32,
                     columns: int = 8, kinds: dict | None = None, panel: int = 56):
    """ml4a's picture of a forward pass: per layer, one map per channel, under a title with
    the volume's shape.

    Args:
        activations: layer name -> ``(N, C, H, W)`` (or ``(N, F)``) tensors, e.g. from
            :func:`cnnkit.inspect.capture`.
        sample: which sample of the batch.
        max_maps: at most this many channels per layer (the title says how many are shown).
        columns: maps per row.
        kinds: layer name -> type shown in the title (``"conv"``).
        panel: about this many pixels per map side (small maps are scaled up by whole
            pixels).

    Returns:
        A Figure: one image per map shown (``fig.images``; a vector layer is one strip),
        one title per layer (``fig.texts``). One colour scale (viridis) per layer, so the
        maps of a layer compare with each other. Every rank is drawn: a 1-D layer's
        channels ``(C, T)`` as traces over time on one vertical scale, a 3-D layer's
        ``(C, D, H, W)`` as the maps of its middle depth slice (the title says which).

    Example:
        >>> fig = plot_activations({"a": torch.rand(1, 6, 8, 8), "b": torch.rand(1, 10)})
        >>> len(fig.images), [t.get_text() for t in fig.texts]
        (7, ['a: 6x8x8', 'b: 10'])
        >>> fig = plot_activations({"seq": torch.rand(1, 3, 40), "vol": torch.rand(1, 2, 5, 6, 6)})
        >>> len(fig.images), [t.get_text() for t in fig.texts]
        (5, ['seq: 3x40', 'vol: 2x5x6x6 (depth slice 2 of 5)'])
    """
    if not activations:
        raise ArgumentError("plot_activations needs at least one layer. Received: an empty "
                            "dict. Capture with cnnkit.inspect.capture(model, x) first.")
    kinds = kinds or {}
    layout = _Layout()
    for name, tensor in activations.items():
        value = _array(tensor)
        if not 0 <= sample < value.shape[0]:
            raise ArgumentError(f"sample must index the batch of {value.shape[0]}. Received: "
                                f"sample={sample}.")
        value = value[sample]
        title = volume_title(name, value.shape, kinds.get(name))
        if value.ndim == 4:  # a volume (C, D, H, W): every channel at the middle depth
            depth = value.shape[1]
            value = value[:, depth // 2]
            title += f" (depth slice {depth // 2} of {depth})"
        if value.ndim == 2:  # a sequence (C, T): one trace per channel, over time
            from .pictures import trace_panel

            shown = min(value.shape[0], max_maps)
            if shown < value.shape[0]:
                title += f" (first {shown} channels)"
            layout.text(title, 12, bold=True)
            lo, hi = float(value[:shown].min()), float(value[:shown].max())
            width = max(2 * panel, min(4 * value.shape[1], 4 * panel))
            layout.grid([trace_panel(value[c], height=max(24, panel // 2), width=width,
                                     colours=[(68, 1, 84)], lo=lo, hi=hi)
                         for c in range(shown)], max(1, columns // 2))
        elif value.ndim == 3:
            shown = min(value.shape[0], max_maps)
            if shown < value.shape[0]:
                title += f" (first {shown} maps)"
            layout.text(title, 12, bold=True)
            vmin, vmax = float(value[:shown].min()), float(value[:shown].max())
            h, w = _panel_size(*value.shape[1:], panel)
            layout.grid([_resize(colorize(value[c], "viridis", vmin, vmax), h, w)
                         for c in range(shown)], columns)
        else:
            layout.text(title, 12, bold=True)
            flat = value.reshape(1, -1)
            width = columns * (panel + _Layout.GAP) - _Layout.GAP
            layout.grid([_resize(colorize(flat, "viridis"), 14, width)], 1)
        layout.space(4)
    return layout.figure()


def plot_filters(weight, *, max_filters: int = 64, max_channels: int = 16,
                 per_channel: bool | None = None, columns: int = 8, title: str | None = None,
                 panel: int = 40):
    """The filters of a convolution (from :func:`cnnkit.inspect.conv_filters`).

    Args:
        weight: ``(out, in, kh, kw)`` filters.
        per_channel: one panel per (filter, input channel) pair, one row per filter.
            Default: only when the filters are not images (input channels other than 1 or
            3), i.e. for deeper layers; a first layer's filters are one grey or colour
            image each.
        max_filters, max_channels: caps on the filters and input channels shown.
        columns: panels per row when each filter is one panel.
        panel: about this many pixels per filter side.

    Returns:
        A Figure with ``min(out, max_filters)`` panels, or ``filters x channels`` panels
        (``fig.images``). Grey filters: black negative, white positive, grey zero; colour
        filters: each scaled to [0, 1]; per channel: blue negative, red positive.

    Example:
        >>> len(plot_filters(torch.randn(6, 1, 5, 5)).images)
        6
        >>> len(plot_filters(torch.randn(4, 6, 3, 3)).images)
        24
        >>> len(plot_filters(torch.randn(4, 2, 5)).images), len(plot_filters(torch.randn(3, 1, 3, 3, 3)).images)
        (8, 3)
    """
    w = _array(weight)
    if w.ndim == 5:  # 3-D filters: their middle depth slice
        depth = w.shape[2]
        w = w[:, :, depth // 2]
        title = (title or f"{w.shape[0]} filters {w.shape[1]}x{depth}x{w.shape[2]}x"
                 f"{w.shape[3]}") + f" (depth slice {depth // 2} of {depth})"
    if w.ndim == 3:
        return _plot_filters_1d(w, max_filters=max_filters, max_channels=max_channels,
                                title=title, panel=panel)
    if w.ndim != 4:
        raise ShapeError(f"plot_filters draws filters (out, in, *kernel) of 1 to 3 "
                         f"dimensions. Received: shape {w.shape}.")
    if per_channel is None:
        per_channel = w.shape[1] not in (1, 3)
    n = min(w.shape[0], max_filters)
    layout = _Layout()
    layout.text(title or f"{w.shape[0]} filters {w.shape[1]}x{w.shape[2]}x{w.shape[3]}", 12,
                bold=True)
    h, wd = _panel_size(w.shape[2], w.shape[3], panel)
    panels = []
    if per_channel:
        c = min(w.shape[1], max_channels)
        limit = float(np.abs(w[:n, :c]).max()) or 1.0
        layout.text(f"rows: filters 0-{n - 1}; columns: input channels 0-{c - 1}", 9)
        for i in range(n):
            for j in range(c):
                panels.append(_resize(colorize(w[i, j], "RdBu_r", -limit, limit), h, wd))
        layout.grid(panels, c)
    else:
        for i in range(n):
            if w.shape[1] == 3:
                f = w[i]
                f = (f - f.min()) / ((f.max() - f.min()) or 1.0)
                rgb = (f.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
            else:
                limit = float(np.abs(w[i, 0]).max()) or 1.0
                rgb = colorize(w[i, 0], "gray", -limit, limit)
            panels.append(_resize(rgb, h, wd))
        layout.grid(panels, columns)
    return layout.figure()


def _plot_filters_1d(w: np.ndarray, *, max_filters: int, max_channels: int, title, panel: int):
    """1-D filters ``(out, in, k)``: one trace panel per filter and input channel (a row
    per filter), on one vertical scale centred on 0."""
    from .pictures import trace_panel

    n, c = min(w.shape[0], max_filters), min(w.shape[1], max_channels)
    limit = float(np.abs(w[:n, :c]).max()) or 1.0
    layout = _Layout()
    layout.text(title or f"{w.shape[0]} filters {w.shape[1]}x{w.shape[2]}", 12, bold=True)
    layout.text(f"rows: filters 0-{n - 1}; columns: input channels 0-{c - 1}; "
                f"scale -{limit:.2g} to {limit:.2g}", 9)
    width = max(panel, 6 * w.shape[2])
    layout.grid([trace_panel(w[i, j], height=max(20, panel // 2), width=width,
                             colours=[(33, 102, 172)], lo=-limit, hi=limit)
                 for i in range(n) for j in range(c)], c)
    return layout.figure()


def plot_receptive_field(image, field, activation_map=None):
    """The input with the box one unit sees, and (optionally) the unit on its map.

    Args:
        image: the input sample ``(C, H, W)``.
        field: a :class:`cnnkit.inspect.Field` of a 2-D layer.
        activation_map: the unit's channel map ``(H', W')`` to show beside it.

    Returns:
        A Figure with 1 or 2 panels.

    Example:
        >>> from cnnkit.inspect import Field
        >>> f = Field("layers.0", (0, 2, 3), (1, 2), (5, 6), (5, 5), (1, 1), (-1, -1))
        >>> len(plot_receptive_field(torch.rand(1, 8, 8), f, torch.rand(4, 4)).axes)
        2
    """
    img = _array(image)
    size = img.shape[-2:]
    (top, left), (bottom, right) = field.clipped(size)
    from matplotlib.patches import Rectangle

    panels = 1 if activation_map is None else 2
    fig = _figure(3.2 * panels, 3.4)
    ax = fig.add_subplot(1, panels, 1)
    _show_image(ax, img)
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1,
                           fill=False, edgecolor="#ff3b30", linewidth=2))
    ax.set_title(f"field {'x'.join(map(str, field.field))} of unit {tuple(field.unit)}",
                 fontsize=9)
    if activation_map is not None:
        ax2 = fig.add_subplot(1, panels, 2)
        ax2.imshow(_array(activation_map), cmap="viridis", interpolation="nearest")
        y, x = field.unit[-2:]
        ax2.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="#ff3b30",
                                linewidth=2))
        ax2.set_title(field.layer, fontsize=9)
        _bare(ax2)
    return fig


def plot_saliency(image, maps: dict, *, title: str | None = None, panel: int = 96):
    """The input beside one heat map per method (``{"gradient": (H, W), ...}``).

    Maps that are never negative use ``inferno`` from 0 to their maximum; a map with
    negative values (occlusion can help a class) a diverging scale centred on 0.

    Example:
        >>> fig = plot_saliency(torch.rand(1, 8, 8), {"gradient": torch.rand(8, 8),
        ...                                           "occlusion": torch.rand(8, 8)})
        >>> len(fig.images), [t.get_text() for t in fig.texts]
        (3, ['input', 'gradient', 'occlusion'])
    """
    img = image_rgb(image)
    h, w = _panel_size(*img.shape[:2], panel)
    panels = [_resize(img, h, w)]
    for value in maps.values():
        m = _array(value)
        limit = float(np.abs(m).max()) or 1.0
        if m.min() < 0:
            rgb = colorize(m, "RdBu_r", -limit, limit)
        else:
            rgb = colorize(m, "inferno", 0, limit)
        panels.append(_resize(rgb, h, w))
    layout = _Layout()
    if title:
        layout.text(title, 11, bold=True)
    layout.grid(panels, len(panels), captions=["input", *maps], caption_size=10)
    return layout.figure()


def _count(value) -> str:
    """A count short enough for a cell: 950, 9.5k, 1.3M."""
    value = int(value)
    if value < 1000:
        return str(value)
    if value < 10 ** 6:
        return f"{value / 1000:.3g}k"
    return f"{value / 10 ** 6:.3g}M"


def plot_confusion(confusion, classes=None, *, title: str = "confusion matrix"):
    """The confusion matrix (row = true class, column = predicted), counts written in the
    cells when there are at most 20 classes.

    Example:
        >>> fig = plot_confusion(torch.tensor([[5, 1], [0, 4]]), ["cat", "dog"])
        >>> fig.axes[0].get_xlabel(), len(fig.axes[0].texts)
        ('predicted', 4)
    """
    m = _array(confusion)
    k = m.shape[0]
    classes = [str(c) for c in (classes if classes is not None else range(k))]
    longest = max((len(c) for c in classes), default=1)
    side = max(3.5, min(12.0, 0.45 * k + 2)) + min(3.0, 0.09 * max(0, longest - 2))
    fig = _figure(side, side)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(m, cmap="Blues", interpolation="nearest")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    ticks = range(k) if k <= 30 else range(0, k, max(1, k // 20))
    ax.set_xticks(list(ticks), [classes[i] for i in ticks], fontsize=8,
                  rotation=90 if max(map(len, classes)) > 2 else 0)
    ax.set_yticks(list(ticks), [classes[i] for i in ticks], fontsize=8)
    if k <= 20:
        top = m.max() or 1
        for i in range(k):
            for j in range(k):
                ax.text(j, i, _count(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > 0.5 * top else "black")
    # The layout engine makes room for the tick labels, however long the class names.
    fig.set_layout_engine("constrained")
    return fig


def plot_curves(records: list[dict], metric: str = "accuracy"):
    """Learning curves from ``metrics.jsonl`` records: loss and ``metric`` (a task's
    monitored metric: accuracy, mean_iou, mAP, psnr, r2) against the step, training (per
    logged step) and validation (per epoch, ``val_<metric>``).

    Example:
        >>> fig = plot_curves([{"split": "train", "step": 10, "loss": 2.0, "accuracy": 0.2},
        ...                    {"split": "val", "step": 10, "val_loss": 1.9, "val_accuracy": 0.3}])
        >>> [ax.get_title() for ax in fig.axes]
        ['loss', 'accuracy']
    """
    fig = _figure(9, 3.2)
    series = {
        "loss": [("train", "train", "loss"), ("val", "val", "val_loss")],
        metric: [("train", "train", metric), ("val", "val", f"val_{metric}")],
    }
    for k, (title, lines) in enumerate(series.items()):
        ax = fig.add_subplot(1, 2, k + 1)
        for label, split, key in lines:
            points = [(r["step"], r[key]) for r in records
                      if r.get("split") == split and key in r and "step" in r]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="o" if split == "val" else None, markersize=3,
                        label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", color="#888",
                    transform=ax.transAxes)
    fig.subplots_adjust(left=0.07, bottom=0.15, right=0.98, top=0.9, wspace=0.2)
    return fig


def plot_examples(images, titles, *, columns: int = 8, panel: int = 64):
    """A grid of input images with a caption each (e.g. the most confidently wrong).

    Example:
        >>> len(plot_examples(torch.rand(3, 1, 8, 8), ["a", "b", "c"]).images)
        3
    """
    from .pictures import display_image

    images = _array(images)
    layout = _Layout()
    if len(images) == 0:
        layout.text("none", 10)
        return layout.figure()
    pictures = [display_image(im) for im in images]  # any rank: 1-D traces, 3-D slices
    h, w = _panel_size(*pictures[0].shape[:2], panel)
    layout.grid([_resize(p, h, w) for p in pictures], columns,
                captions=[str(t) for t in titles], caption_size=9)
    return layout.figure()


def plot_embedding(coords, labels, classes=None, *, title: str = "penultimate layer (PCA)"):
    """A scatter of 2-D embedding coordinates coloured by class.

    Example:
        >>> fig = plot_embedding(torch.randn(30, 2), torch.arange(30) % 3, ["a", "b", "c"])
        >>> len(fig.axes[0].collections)
        3
    """
    xy = _array(coords)
    y = np.asarray(_array(labels)).astype(int)
    k = int(y.max()) + 1 if y.size else 0
    classes = [str(c) for c in (classes if classes is not None else range(k))]
    fig = _figure(5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    for c in range(k):
        sel = y == c
        if sel.any():
            ax.scatter(xy[sel, 0], xy[sel, 1], s=8, color=cmap(c % cmap.N),
                       label=classes[c] if c < len(classes) else str(c))
    ax.set_title(title, fontsize=10)
    if k <= 20:
        ax.legend(fontsize=7, markerscale=2, loc="best")
    fig.subplots_adjust(left=0.12, bottom=0.08, right=0.97, top=0.92)
    return fig
