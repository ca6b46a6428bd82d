"""What the web viewer computes, without HTTP: a run's network answering JSON-ready dicts.

:class:`Viewer` loads a run folder once (weights through the safetensors checkpoints,
the summary geometry, the first-layer filters, a few test examples) and answers the
requests of the page: predict (probabilities and every layer's activation maps), filters,
the receptive field of a unit, saliency, examples. Bad input raises :class:`RequestError`
with the HTTP status and a message for the page; nothing here touches a path that a
request names.

Maps travel as ``{"shape": [...], "data": <base64 uint8>, "min": m, "max": M}``: the
values scaled from ``[min, max]`` to 0-255 (one scale per layer), C-order.

Every request is checked before it costs anything: an image's size is read from its header
before it is decoded (at most :data:`MAX_IMAGE_PIXELS`; JPEGs are decoded at a reduced
scale), decoding and JSON parsing reserve their memory from the viewer's
:class:`~cnnkit.serve.budget.MemoryBudget`, every number that indexes something (class,
example, unit) is checked against its range, and strings are short.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import threading

import numpy as np
import torch

from .._validation import CnnkitError
from .budget import Busy, MemoryBudget, OverBudget

__all__ = ["IMAGE_FORMATS", "MAX_IMAGE_PIXELS", "MAX_JSON_DEPTH", "MAX_UPLOAD_BYTES",
           "RequestError", "Viewer", "encode_map", "parse_json"]

MAX_UPLOAD_BYTES = 2 * 1024 * 1024     # request bodies above 2 MiB get 413
MAX_IMAGE_PIXELS = 2048 * 2048         # decoded images above this many pixels get 413
MAX_JPEG_PIXELS = 64 * MAX_IMAGE_PIXELS  # a JPEG decodes at 1/8 scale at most: 8x8 fewer
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # what Pillow may open (no EPS, ...)
DECODE_BYTES_PER_PIXEL = 16            # worst case of decode + alpha + conversions (RGBA)
JSON_BYTES_PER_BYTE = 25               # worst case of Python objects per byte of JSON ([{},...])
MAX_JSON_DEPTH = 32                    # nesting levels of a request's JSON
MAX_NAME_CHARS = 200                   # layer and method names
MAX_MAPS = 64                          # channels sent per layer
MAX_VECTOR = 4096                      # units sent per vector layer
SALIENCY_METHODS = ("gradient", "smoothgrad", "gradcam", "occlusion")


class RequestError(Exception):
    """A request the viewer cannot answer: ``status`` (4xx, or 503 when busy), a message
    for the page and extra response ``headers`` (``Retry-After``)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def budget_error(error: Exception) -> RequestError:
    """A :class:`RequestError` for :class:`OverBudget` (413) or :class:`Busy` (503)."""
    if isinstance(error, OverBudget):
        return RequestError(413, f"{error}. Send a smaller request.")
    return RequestError(503, f"{error}. Try again in a second.", {"Retry-After": "1"})


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _index(value, name: str, count: int, *, null: bool = False) -> int | None:
    """``value`` as an index from 0 to ``count - 1`` (or None where ``null``), else 400."""
    if value is None and null:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
        what = f"an int from 0 to {count - 1}" if count else "not available (there are none)"
        raise RequestError(400, f"{name} must be {what}{' or null' if null else ''}. "
                                f"Received: {name}={_short(value)}.")
    return value


def _name(value, name: str) -> str | int:
    """A layer or method name: a short string (or an int index), else 400."""
    if isinstance(value, str) and len(value) <= MAX_NAME_CHARS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2 ** 31:
        return value
    raise RequestError(400, f"{name} must be a name of at most {MAX_NAME_CHARS} characters "
                            f"or an index. Received: {name}={_short(value)}.")


def _unit(value, name: str = "unit") -> list[int]:
    """A unit ``[channel, y, x]`` (or ``[feature]``): 1 to 4 small ints, else 400."""
    if not isinstance(value, list) or not 1 <= len(value) <= 4 or not all(
            isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2 ** 31 for v in value):
        raise RequestError(400, f"{name} must be a list of ints [channel, y, x] (or [unit] "
                                f"after a flatten). Received: {name}={_short(value)}.")
    return value


def encode_map(values: torch.Tensor | np.ndarray, lo=None, hi=None) -> dict:
    """Values as ``{"shape", "data" (base64 uint8), "min", "max"}``, scaled to 0-255.

    Example:
        >>> encode_map(torch.tensor([[0.0, 2.0]]))
        {'shape': [1, 2], 'data': 'AP8=', 'min': 0.0, 'max': 2.0}
    """
    v = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) \
        else np.asarray(values, dtype=np.float32)
    lo = float(v.min()) if lo is None and v.size else float(lo or 0.0)
    hi = float(v.max()) if hi is None and v.size else float(hi or 0.0)
    scaled = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    data = np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    return {"shape": list(v.shape), "data": base64.b64encode(data.tobytes()).decode("ascii"),
            "min": lo, "max": hi}


def _rgb(picture: np.ndarray) -> dict:
    """An ``(H, W, 3)`` uint8 picture as ``{"shape", "data"}`` (base64, row by row)."""
    return {"shape": list(picture.shape),
            "data": base64.b64encode(np.ascontiguousarray(picture).tobytes()).decode("ascii")}


def _plain(values) -> list:
    return [int(v) if float(v).is_integer() else float(v) for v in values]


class Viewer:
    """A run folder ready to answer the viewer's requests.

    Every task and rank is shown: a 2-D grey or colour image network can be drawn on;
    1-D and 3-D networks (and images of other channel counts) take test examples, with
    their layers as traces over time or as the middle depth slice. Each answer carries the
    task's picture (:mod:`cnnkit.inspect.pictures`) and what the page overlays itself:
    class probabilities, per-label probabilities, values, a mask, boxes, a reconstruction.

    Args:
        run_dir: a run folder made by ``cnnkit train``.
        which: ``"best"`` / ``"last"`` weights (None: those ``results.json`` describes).
        examples: how many test examples the page can pick from.
        budget: the memory that decoding images and parsing JSON may hold at once
            (default: a :class:`MemoryBudget` of 256 MiB).

    Raises:
        cnnkit.ArgumentError: not a run folder, no checkpoint.
    """

    def __init__(self, run_dir, *, which: str | None = None, examples: int = 20,
                 budget: MemoryBudget | None = None):
        from ..inspect.activations import default_layers
        from ..inspect.fields import layer_geometry
        from ..inspect.filters import conv_layers
        from ..inspect.report import _fit_task, load_run

        self.view = load_run(run_dir, which=which)
        self.network = self.view.network.cpu().eval()
        shape = tuple(self.network.input_shape)
        self.input_shape = shape
        self.rank = len(shape) - 1
        # Drawing on a canvas and dropping image files make sense for 2-D grey or colour
        # images; other networks are shown on their test examples.
        self.drawable = self.rank == 2 and shape[0] in (1, 3)
        test = self.view.test
        if test is not None and tuple(test.x.shape[1:]) != shape:
            self.view.test = test = None  # data of another shape: no examples
        self.task = self.view.task
        # The task's pictures need its class count, set by checking the test targets.
        self.task_ok = test is not None and _fit_task(self.view, self.task, test) is None
        if not self.task_ok and self.task.num_classes is None and self.task.name in (
                "segment", "multilabel") and len(tuple(self.network.output_shape)) >= 1:
            self.task.num_classes = int(self.network.output_shape[0])
        self.geometry = layer_geometry(self.network)
        self.layers = default_layers(self.network)
        self.convs = conv_layers(self.network)
        self.lock = threading.Lock()  # forward hooks are per model: one request at a time
        self._found: dict | None = None  # where the hooks put each layer's output, or None
        modules = dict(self.network.named_modules())
        for name in self.layers:  # once: registering hooks per request costs more than a pass
            modules[name].register_forward_hook(self._keeper(name))
        self.budget = budget if budget is not None else MemoryBudget()
        self.classes = len(self.view.classes) if self.view.is_classifier else 0
        # pixels as nested lists [C][H][W] are the most lists a request needs
        self.max_containers = 4 * (math.prod(shape[:-1]) + shape[0] + 1) + 64
        self._examples = self._pick_examples(examples)

    # ---------------------------------------------------------------- inputs
    def _pick_examples(self, count: int) -> list[int]:
        test = self.view.test
        if test is None or len(test) == 0:
            return []
        picked: list[int] = []
        if test.y.dim() == 1 and not test.y.is_floating_point():
            y = test.y.tolist()
            for c in dict.fromkeys(y):  # one of each class first, then the next ones
                picked.append(y.index(c))
            picked = sorted(picked)[:count]
        y = range(len(test))
        for i in range(len(y)):
            if len(picked) >= count:
                break
            if i not in picked:
                picked.append(i)
        return picked

    def decode_image(self, data: bytes) -> torch.Tensor:
        """An image file's bytes as the network's input ``(C, H, W)`` in [0, 1].

        The size comes from the file's header before anything is decoded: above
        :data:`MAX_IMAGE_PIXELS` is a 413 (a JPEG is first decoded at the smallest scale,
        1/2 to 1/8, that still covers the network's input). Transparent pixels are shown
        over black. Decoding reserves its memory from the viewer's budget.

        Raises:
            RequestError: 400 not a PNG / JPEG / GIF / BMP / WebP image; 413 too many
                pixels; 503 the memory budget is taken by other requests.
        """
        from PIL import Image, UnidentifiedImageError

        if not self.drawable:
            raise RequestError(400, f"this network takes {list(self.input_shape)}, not 2-D grey "
                                    f"or colour images; pick a test example.")
        h, w = self.input_shape[1:]
        mode = "L" if self.input_shape[0] == 1 else "RGB"
        try:
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                pixels = image.width * image.height
                if image.format == "JPEG" and pixels <= MAX_JPEG_PIXELS:
                    image.draft(mode, (w, h))  # decode at 1/2, 1/4 or 1/8 scale
                    pixels = image.width * image.height
                if pixels > MAX_IMAGE_PIXELS:
                    raise RequestError(413, f"image of {image.width}x{image.height} pixels is "
                                            f"too large: at most {MAX_IMAGE_PIXELS:,} pixels "
                                            f"(2048x2048). Send a smaller image.")
                with self.budget.reserve(pixels * DECODE_BYTES_PER_PIXEL, "decoding the image"):
                    array = self._convert(image, mode, (w, h))
        except RequestError:
            raise
        except (OverBudget, Busy) as error:
            raise budget_error(error) from None
        except Image.DecompressionBombError:  # Pillow's own limit, in Image.open
            raise RequestError(413, f"the image's header gives more than "
                                    f"{2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels: too large. "
                                    f"Send a smaller image.") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
            raise RequestError(400, f"the upload is not an image that can be read "
                                    f"({type(error).__name__}). Send a PNG or JPEG file.") \
                from None
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        return torch.from_numpy(array.copy()).float() / 255.0

    @staticmethod
    def _convert(image, mode: str, size: tuple[int, int]) -> np.ndarray:
        """A loaded image in ``mode`` ("L" or "RGB") and ``size`` (w, h), over black."""
        from PIL import Image

        image.load()
        if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            image = Image.alpha_composite(background, rgba)
            del rgba, background
        converted = image.convert(mode)
        if converted.size != size:
            converted = converted.resize(size, Image.BILINEAR)
        return np.asarray(converted, dtype=np.uint8)

    def _pixels(self, value, shape) -> torch.Tensor:
        dims = "x".join(map(str, self.input_shape))
        size = math.prod(self.input_shape)
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise RequestError(400, "pixels must be numbers in [0, 1] (a flat list or nested "
                                    f"lists of {dims}).") from None
        if array.dtype == object or array.size != size:
            raise RequestError(400, f"pixels must hold {size} numbers ({dims}, "
                                    f"channels first). Received: {array.size} values.")
        if not np.all(np.isfinite(array)):
            raise RequestError(400, "pixels must be finite numbers in [0, 1].")
        if shape is not None and (not isinstance(shape, list) or shape != list(self.input_shape)):
            raise RequestError(400, f"shape must be the network's input "
                                    f"{list(self.input_shape)}. Received: shape={_short(shape)}.")
        return torch.from_numpy(np.clip(array, 0, 1).reshape(self.input_shape)).float()

    def input_from_json(self, body: dict) -> torch.Tensor:
        """The input a JSON request names: ``pixels`` (numbers in [0, 1]), ``data``
        (base64 uint8, channels first), ``png`` (a base64 image file) or ``example``."""
        given = [k for k in ("pixels", "data", "png", "example") if k in body]
        if len(given) != 1:
            raise RequestError(400, "give the input as exactly one of: pixels (numbers in "
                                    "[0, 1]), data (base64 bytes), png (a base64 image file), "
                                    f"example (an index). Received keys: {_short(sorted(body))}.")
        key = given[0]
        if key == "pixels":
            return self._pixels(body["pixels"], body.get("shape"))
        if key == "example":
            size = 0 if self.view.test is None else len(self.view.test)
            try:
                index = _index(body["example"], "example", size)
            except RequestError as error:
                raise RequestError(400, f"example must be a test-set index from 0 to "
                                        f"{size - 1}. Received: example="
                                        f"{_short(body['example'])}.") from error
            return self.view.test.x[index].float().clone()
        if not isinstance(body[key], str):
            raise RequestError(400, f"{key} must be a base64 string. Received: "
                                    f"{type(body[key]).__name__}.")
        try:
            raw = base64.b64decode(body[key], validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, f"{key} is not valid base64.") from None
        if key == "png":
            if not self.drawable:
                raise RequestError(400, f"this network takes {list(self.input_shape)}, not 2-D "
                                        f"grey or colour images; pick a test example.")
            return self.decode_image(raw)
        size = math.prod(self.input_shape)
        if len(raw) != size:
            raise RequestError(400, f"data must hold {size} bytes "
                                    f"({'x'.join(map(str, self.input_shape))}, channels "
                                    f"first). Received: {len(raw)} bytes.")
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(
            self.input_shape).float() / 255

    def _layer(self, name) -> str:
        from ..inspect.activations import resolve_layer

        name = _name(name, "layer")
        try:
            return resolve_layer(self.network, name)
        except CnnkitError as error:
            raise RequestError(400, str(error)) from None

    # -------------------------------------------------------------- answers
    def info(self) -> dict:
        """The network, its layers (shape, type, field / jump / start), classes, limits."""
        layers = []
        for name in self.layers:
            g = self.geometry.get(name, {})
            layers.append({"name": name, "type": g.get("type", ""),
                           "shape": list(g.get("output_shape", ())),
                           "field": _plain(g["field"]) if g.get("field") else None,
                           "jump": _plain(g["jump"]) if g.get("jump") else None,
                           "start": _plain(g["start"]) if g.get("start") else None})
        results = (self.view.results or {}).get("test") or {}
        task = self.task
        return {"name": self.network.name, "run": self.view.path.name,
                "input_shape": list(self.input_shape), "classes": self.view.classes,
                "classifier": self.view.is_classifier, "task": task.name,
                "rank": self.rank, "drawable": self.drawable,
                "threshold": getattr(task, "threshold", None),
                "metrics": {k: results[k] for k in task.metrics
                            if isinstance(results.get(k), (int, float))},
                "layers": layers,
                "conv_layers": self.convs, "weights": self.view.which,
                "test_accuracy": results.get("accuracy"), "examples": len(self._examples),
                "saliency_methods": list(SALIENCY_METHODS),
                "limits": {"max_upload_bytes": MAX_UPLOAD_BYTES,
                           "max_image_pixels": MAX_IMAGE_PIXELS}}

    def _keeper(self, name: str):
        def keep(module, inputs, output):
            found = self._found
            if found is not None and isinstance(output, torch.Tensor):
                found.pop(name, None)  # a re-run moves the layer to its last position
                found[name] = output.detach()
        return keep

    def predict(self, x: torch.Tensor, activations: bool = True, example: int | None = None
                ) -> dict:
        """The prediction for ``x`` as the run's task gives it, and (``activations``) every
        layer's maps (as :func:`cnnkit.inspect.capture` finds them; a 1-D layer's channels
        as traces, a 3-D layer's at the middle depth slice). ``example``: the test index
        ``x`` came from, whose target the task's picture shows beside the prediction."""
        from ..inspect.pictures import display_image

        with self.lock, torch.no_grad():
            self._found = {} if activations else None
            try:
                out = self.network(x.unsqueeze(0))[0]
            finally:
                acts, self._found = self._found or {}, None
        answer = {"input": encode_map(x, 0.0, 1.0), "display": _rgb(display_image(x))}
        if self.view.is_classifier:
            probs = torch.softmax(out, dim=0)
            answer["probabilities"] = [round(float(p), 6) for p in probs]
            answer["predicted"] = int(probs.argmax())
            answer["label"] = self.view.class_name(answer["predicted"])
        else:
            answer["output"] = [float(v) for v in out.flatten()[:MAX_VECTOR]]
        if self.task.name != "classify" or not self.drawable:
            answer.update(self._task_answer(x, out, example))
        if activations:
            layers = []
            for name, value in acts.items():
                v = value[0]
                extra = {}
                if v.dim() == 4:  # a volume: its middle depth slice
                    depth = int(v.shape[1])
                    extra = {"slice": [depth // 2, depth], "volume": list(v.shape)}
                    v = v[:, depth // 2]
                if v.dim() in (2, 3):
                    kind, shown = ("traces" if v.dim() == 2 else "maps"), v[:MAX_MAPS]
                else:
                    kind, shown = "vector", v.flatten()[:MAX_VECTOR]
                layers.append({"name": name, "type": self.geometry.get(name, {}).get("type", ""),
                               "kind": kind, "shape": list(v.shape),
                               "shown": int(shown.shape[0]), **extra, **encode_map(shown)})
            answer["layers"] = layers
        return answer

    def _target(self, example: int | None):
        test = self.view.test
        if example is None or test is None or not self.task_ok:
            return None
        return test.y[example:example + 1]

    def _task_answer(self, x: torch.Tensor, out: torch.Tensor, example: int | None) -> dict:
        """What the page overlays for the run's task, and the task's picture of ``x``."""
        from ..inspect import pictures as P
        from ..inspect.plots import to_png

        task, batch = self.task, out.unsqueeze(0)
        target = self._target(example)
        answer: dict = {}
        figure = None
        try:
            if task.name == "multilabel":
                p = task.predict(batch)["probabilities"][0]
                answer["label_probabilities"] = [round(float(v), 6) for v in p[:MAX_VECTOR]]
                answer["labels_on"] = [i for i, v in enumerate(p.tolist()) if v >= task.threshold]
                if target is not None:
                    answer["true_labels"] = [i for i, v in enumerate(target[0].tolist()) if v >= 0.5]
            elif task.name == "regress":
                answer["values"] = [float(v) for v in out.flatten()[:64]]
                if target is not None:
                    answer["true_values"] = [float(v) for v in target[0].flatten()[:64]]
            elif task.name == "segment":
                mask = task.predict(batch)["mask"][0]
                if mask.dim() == 3:
                    mask = mask[mask.shape[0] // 2]
                answer["mask"] = {"shape": list(mask.shape), "data": base64.b64encode(
                    mask.clamp(0, 255).to(torch.uint8).numpy().tobytes()).decode("ascii")}
                answer["colours"] = P.CLASS_COLOURS.tolist()
                figure = P.plot_segmentation(self.network, task, x[None], target,
                                             classes=self.view.classes)
            elif task.name == "reconstruct":
                answer["reconstruction"] = _rgb(P.display_image(out))
                figure = P.plot_reconstruction(self.network, task, x[None])
            elif task.name == "detect":
                found = task.predict(batch)
                answer["detections"] = [
                    {"box": [round(float(v), 5) for v in box], "class": int(c),
                     "label": self.view.class_name(int(c)), "score": round(float(sc), 5)}
                    for box, sc, c, ok in zip(found["boxes"][0], found["scores"][0],
                                               found["classes"][0], found["valid"][0])
                    if bool(ok)][:50]
                answer["colours"] = P.CLASS_COLOURS.tolist()
                figure = P.plot_detection(self.network, task, x[None], target,
                                          classes=self.view.classes)
        except (CnnkitError, TypeError, ValueError, RuntimeError) as error:
            # e.g. a detector whose layout the test data could not settle: the prediction
            # and the maps are still answered, with the reason the picture is missing
            answer["picture_error"] = f"no picture of the task's prediction: {error}"
        if figure is not None:
            answer["picture"] = "data:image/png;base64," + base64.b64encode(
                to_png(figure)).decode("ascii")
        return answer

    def filters(self, layer=None) -> dict:
        """A convolution's filters as RGB tiles (first layer: one tile per filter; deeper:
        one per filter and input channel)."""
        from ..inspect.filters import conv_filters
        from ..inspect.plots import colorize

        if not self.convs:
            raise RequestError(404, "this network has no convolution layer, so no filters.")
        name = self.convs[0] if layer in (None, "") else self._layer(layer)
        try:
            w = conv_filters(self.network, name)
        except CnnkitError as error:
            raise RequestError(400, str(error)) from None
        if w.dim() != 4:  # 1-D and 3-D filters: the report's picture of them
            from ..inspect.plots import plot_filters, to_png

            png = to_png(plot_filters(w, title=f"{name}: {w.dim() - 2}-D filters"))
            return {"layer": name, "shape": list(w.shape), "per_channel": True,
                    "picture": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                    "count": int(w.shape[0])}
        out_c, in_c = w.shape[:2]
        tiles = []
        if in_c in (1, 3):
            for k in range(min(out_c, MAX_MAPS)):
                f = w[k]
                if in_c == 3:
                    f = (f - f.min()) / ((f.max() - f.min()) or 1.0)
                    rgb = (f.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
                else:
                    limit = float(f.abs().max()) or 1.0
                    rgb = colorize(f[0], "gray", -limit, limit)
                tiles.append(rgb)
            rows, cols = math.ceil(len(tiles) / 8), min(8, len(tiles))
            per_channel = False
        else:
            n, c = min(out_c, 16), min(in_c, 16)
            limit = float(w[:n, :c].abs().max()) or 1.0
            for k in range(n):
                for j in range(c):
                    tiles.append(colorize(w[k, j], "RdBu_r", -limit, limit))
            rows, cols = n, c
            per_channel = True
        data = np.stack(tiles)
        return {"layer": name, "shape": list(w.shape), "per_channel": per_channel,
                "rows": rows, "cols": cols, "tile": [int(data.shape[1]), int(data.shape[2])],
                "count": len(tiles),
                "data": base64.b64encode(data.tobytes()).decode("ascii")}

    def receptive_field(self, layer, unit) -> dict:
        """The input box of ``unit`` of ``layer`` (the summary's field / jump / start)."""
        from ..inspect.fields import receptive_field

        name = self._layer(layer)
        unit = _unit(unit)
        try:
            field = receptive_field(self.network, name, tuple(unit), geometry=self.geometry)
        except CnnkitError as error:
            raise RequestError(400, str(error)) from None
        return field.to_dict(self.input_shape[1:])

    def saliency(self, x: torch.Tensor, method: str = "gradient", target=None, layer=None,
                 unit=None) -> dict:
        """A saliency map of ``x`` for a class (``target``; None: the predicted one), or
        for one unit (``layer`` and ``unit``; gradient and smoothgrad)."""
        from ..inspect import saliency as S

        if not isinstance(method, str) or method not in SALIENCY_METHODS:
            raise RequestError(400, f"method must be one of {', '.join(SALIENCY_METHODS)}. "
                                    f"Received: method={_short(method)}.")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)):
            raise RequestError(400, f"target must be a class index or null. Received: "
                                    f"target={_short(target)}.")
        if target is not None:
            if not self.classes:
                raise RequestError(400, f"target names a class, and this network is not a "
                                        f"classifier; leave it out. Received: target={target}.")
            if not 0 <= target < self.classes:
                raise RequestError(400, f"target must be a class index from 0 to "
                                        f"{self.classes - 1} or null. Received: "
                                        f"target={_short(target)}.")
        batch = x.unsqueeze(0)
        unit_args = {}
        if layer is not None or unit is not None:
            if method not in ("gradient", "smoothgrad"):
                raise RequestError(400, f"the saliency of one unit is computed with gradient "
                                        f"or smoothgrad. Received: method={method!r}.")
            unit = _unit(unit)
            unit_args = {"layer": self._layer(layer), "unit": tuple(unit)}
        elif not self.view.is_classifier:
            raise RequestError(400, "class saliency needs a classifier; give layer and unit.")
        try:
            with self.lock:
                if method == "gradient":
                    m = S.gradient(self.network, batch, target, **unit_args)
                elif method == "smoothgrad":
                    m = S.smoothgrad(self.network, batch, target, samples=16, **unit_args)
                elif method == "gradcam":
                    m = S.grad_cam(self.network, batch, target, geometry=self.geometry)
                else:
                    m = S.occlusion(self.network, batch, target)
        except CnnkitError as error:
            raise RequestError(400, str(error)) from None
        m = m[0]
        signed = bool(m.min() < 0)
        limit = float(m.abs().max())
        encoded = encode_map(m, -limit if signed else 0.0, limit)
        return {"method": method, "signed": signed, "target": target, **unit_args,
                "unit": list(unit) if unit is not None else None, **encoded}

    @property
    def example_count(self) -> int:
        """How many test examples the page can pick from."""
        return len(self._examples)

    def examples(self, count: int | None = None) -> dict:
        """Test examples (one per class first) with their labels; ``count`` of them
        (0 to :attr:`example_count`; None: all)."""
        test = self.view.test
        if count is not None:
            _index(count, "count", len(self._examples) + 1)
        picked = self._examples if count is None else self._examples[:count]
        from ..inspect.pictures import display_image

        classes = test.y.dim() == 1 and not test.y.is_floating_point()
        out = []
        for i in picked:
            label = int(test.y[i]) if classes else None
            out.append({"index": i, "label": label,
                        "class": self.view.class_name(label) if classes else "",
                        **encode_map(test.x[i], 0.0, 1.0),
                        "display": _rgb(display_image(test.x[i]))})
        return {"examples": out}


def parse_json(body: bytes, budget: MemoryBudget | None = None,
               max_containers: int | None = None) -> dict:
    """A request body as a JSON object, or a 400 saying what is wrong.

    Nesting deeper than :data:`MAX_JSON_DEPTH` is a 400 (deeper values would drive the
    code that reads them into RecursionError), and so are more than ``max_containers``
    lists and objects (each costs the parser far more than its two bytes); parsing
    reserves from ``budget`` the memory that the Python objects may take.

    Example:
        >>> parse_json(b'{"example": 3}')
        {'example': 3}
        >>> parse_json(b"[" * 40 + b"]" * 40)
        Traceback (most recent call last):
        ...
        cnnkit.serve.viewer.RequestError: the JSON is nested deeper than 32 levels.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, f"the body is not valid JSON (not UTF-8 text: {error.reason} "
                                f"at byte {error.start}).") from None
    containers = body.count(b"[") + body.count(b"{")
    if max_containers is not None and containers > max_containers:
        raise RequestError(400, f"the JSON has {containers:,} brackets; a request to this "
                                f"viewer has at most {max_containers:,} lists and objects.")
    if containers > MAX_JSON_DEPTH:
        _check_depth(body)
    try:
        if budget is None:
            value = json.loads(text)
        else:
            with budget.reserve(len(body) * JSON_BYTES_PER_BYTE, "parsing the JSON"):
                value = json.loads(text)
    except (OverBudget, Busy) as error:
        raise budget_error(error) from None
    except json.JSONDecodeError as error:
        raise RequestError(400, f"the body is not valid JSON ({error}).") from None
    except (ValueError, RecursionError) as error:  # digits past int's limit; deep nesting
        reason = str(error) if len(str(error)) <= 120 else f"{str(error)[:120]}..."
        raise RequestError(400, f"the body is not valid JSON ({reason}).") from None
    if not isinstance(value, dict):
        raise RequestError(400, f"the body must be a JSON object. Received: "
                                f"{type(value).__name__}.")
    return value


def _check_depth(body: bytes) -> None:
    """400 if brackets outside strings nest deeper than :data:`MAX_JSON_DEPTH`.

    Counted by NumPy on the bytes that matter (quotes, backslashes, brackets; UTF-8 never
    puts an ASCII byte inside a multi-byte character), so a 2 MiB body costs milliseconds:
    a quote is escaped when an odd run of backslashes stands just before it, and a bracket
    after an odd number of real quotes is inside a string.
    """
    b = np.frombuffer(body, dtype=np.uint8)
    at = np.flatnonzero((b == 0x22) | (b == 0x5C) | (b == 0x5B) | (b == 0x5D) | (b == 0x7B)
                        | (b == 0x7D))
    c = b[at]
    n = np.arange(at.size)
    backslash = c == 0x5C
    follows = np.zeros(at.size, dtype=bool)  # a backslash right after another one
    follows[1:] = backslash[1:] & backslash[:-1] & (at[1:] - at[:-1] == 1)
    run_start = np.maximum.accumulate(np.where(backslash & ~follows, n, 0))
    escaped = np.zeros(at.size, dtype=bool)  # an odd backslash run ends just before
    escaped[1:] = backslash[:-1] & (at[1:] - at[:-1] == 1) & ((n[:-1] - run_start[:-1]) % 2 == 0)
    quote = (c == 0x22) & ~escaped
    outside = np.cumsum(quote) % 2 == 0
    step = np.where(outside & ((c == 0x5B) | (c == 0x7B)), 1, 0) \
        - np.where(outside & ((c == 0x5D) | (c == 0x7D)), 1, 0)
    if step.size and int(np.cumsum(step).max()) > MAX_JSON_DEPTH:
        raise RequestError(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
