"""A small TensorBoard event-file writer (no tensorboard package needed): scalars, images,
histograms and hyperparameters.

An event file is a sequence of TFRecords, each holding one serialised ``Event`` protocol
buffer. Only the fields these summaries need are encoded here (field numbers from
TensorBoard's ``summary.proto`` and ``plugins/hparams/*.proto``):

``Event``   1: wall_time (double), 2: step (int64), 3: file_version (string), 5: summary
``Summary`` 1: repeated value
``Value``   1: tag, 2: simple_value (float), 4: image, 5: histo, 8: tensor, 9: metadata
``Image``   1: height, 2: width, 3: colorspace (3 = RGB), 4: the PNG bytes
``HistogramProto`` 1: min, 2: max, 3: num, 4: sum, 5: sum_squares, 6: bucket_limit
            (packed doubles, each bucket's right edge), 7: bucket (packed counts)
``SummaryMetadata`` 1: plugin_data (1: plugin_name, 2: content)
``HParamsPluginData`` 1: version, 2: experiment (4: hparam_infos, 5: metric_infos),
            3: session_start_info (1: map of hparams to ``google.protobuf.Value``),
            4: session_end_info (1: status)

A TFRecord is ``uint64 length, uint32 masked_crc32c(length), data, uint32 masked_crc32c(data)``.

:func:`log_epoch` is what the trainer writes after each epoch: the histogram of every
parameter, the first convolution's filters and the activation maps of one training sample
as images, and (once) the run's hyperparameters with the metrics they are judged by.
"""

from __future__ import annotations

import io
import math
import socket
import struct
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["EventWriter", "crc32c", "log_epoch", "map_grid", "read_events"]


def _make_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli, reflected
        table.append(crc)
    return table


_TABLE = _make_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``.

    Example:
        >>> hex(crc32c(b"123456789"))  # the standard check value
        '0xe3069283'
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(step: int, wall_time: float, *, file_version: str | None = None,
           scalars: dict[str, float] | None = None) -> bytes:
    out = bytearray(b"\x09" + struct.pack("<d", wall_time))
    out += b"\x10" + _varint(step)
    if file_version is not None:
        out += _field_bytes(3, file_version.encode())
    if scalars:
        summary = b"".join(
            _field_bytes(1, _field_bytes(1, tag.encode()) + b"\x15" + struct.pack("<f", float(value)))
            for tag, value in scalars.items()
        )
        out += _field_bytes(5, summary)
    return bytes(out)


def _double(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", float(value))


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(int(value))


def _packed_doubles(number: int, values) -> bytes:
    return _field_bytes(number, struct.pack(f"<{len(values)}d", *map(float, values)))


def _value(tag: str, payload: bytes) -> bytes:
    """A ``Summary`` holding one ``Value`` with ``tag`` and the given fields."""
    return _field_bytes(1, _field_bytes(1, tag.encode()) + payload)


def _summary_event(step: int, summary: bytes) -> bytes:
    return (b"\x09" + struct.pack("<d", time.time()) + b"\x10" + _varint(step)
            + _field_bytes(5, summary))


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _histogram(values: np.ndarray, bins: int = 30) -> bytes:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        v = np.zeros(1)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:  # one value: one bucket around it
        hi = lo + (abs(lo) * 1e-6 or 1e-6)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return (_double(1, lo) + _double(2, float(v.max())) + _double(3, v.size)
            + _double(4, float(v.sum())) + _double(5, float((v * v).sum()))
            + _packed_doubles(6, edges[1:]) + _packed_doubles(7, counts))


def _proto_value(value) -> bytes:
    """A ``google.protobuf.Value``: 2 number, 3 string, 4 bool."""
    if isinstance(value, bool):
        return _int(4, int(value))
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return _double(2, float(value))
    return _field_bytes(3, str(value).encode())


_HPARAMS = "hparams"
_NULL_TENSOR = b"\x08\x01\x12\x02\x12\x00"  # DT_FLOAT of shape [0], as the plugin writes


def _hparams_value(tag: str, plugin_data: bytes) -> bytes:
    metadata = _field_bytes(1, _field_bytes(1, _HPARAMS.encode())
                            + _field_bytes(2, _int(1, 0) + plugin_data))
    return _value(tag, _field_bytes(9, metadata) + _field_bytes(8, _NULL_TENSOR))


def map_grid(maps: np.ndarray, columns: int = 8, scale: int | None = None) -> np.ndarray:
    """Channel maps ``(C, H, W)`` as one grey ``(rows * H', cols * W', 3)`` uint8 picture,
    one scale for all maps (black lowest, white highest), 1 pixel of gap, each map scaled
    up by whole pixels to about 32 pixels a side.

    Example:
        >>> map_grid(np.arange(8.0).reshape(2, 2, 2), scale=1).shape
        (2, 5, 3)
    """
    m = np.asarray(maps, dtype=np.float64)
    c, h, w = m.shape
    scale = scale or max(1, 32 // max(h, w))
    lo, hi = float(m.min()), float(m.max())
    grey = ((m - lo) / (hi - lo) * 255 + 0.5).astype(np.uint8) if hi > lo else \
        np.zeros(m.shape, np.uint8)
    grey = grey.repeat(scale, axis=1).repeat(scale, axis=2)
    columns = max(1, min(columns, c))
    rows = -(-c // columns)
    H, W = h * scale, w * scale
    out = np.full((rows * (H + 1) - 1, columns * (W + 1) - 1), 64, np.uint8)
    for k in range(c):
        r, q = divmod(k, columns)
        out[r * (H + 1):r * (H + 1) + H, q * (W + 1):q * (W + 1) + W] = grey[k]
    return np.repeat(out[..., None], 3, axis=2)


def _as_maps(t) -> np.ndarray | None:
    """A layer's output for one sample as maps ``(C, H, W)``: 1-D ``(C, T)`` as one row of
    C x T, 3-D at the middle depth; None for vectors."""
    a = t.detach().float().cpu().numpy()
    if a.ndim == 2:
        return a[None]
    if a.ndim == 4:
        return a[:, a.shape[1] // 2]
    return a if a.ndim == 3 else None


def log_epoch(writer: "EventWriter", model, step: int, sample=None, hparams: dict | None = None,
              metrics=("train/loss", "train/accuracy", "val/loss", "val/accuracy"),
              max_maps: int = 32) -> None:
    """Write what TensorBoard shows beside the scalars after an epoch.

    * ``weights/<name>``: a histogram of every parameter;
    * ``filters/<layer>``: the first convolution's filters (one grey map per filter and
      input channel, first ``max_maps``; 1-D filters as rows, 3-D at the middle depth);
    * ``activations/<layer>``: the maps of each layer with a spatial output for ``sample``
      (one input, batch of 1), first ``max_maps`` channels;
    * ``hparams`` (first call only, when given): the settings, and ``metrics`` as the tags
      the hyperparameter dashboard compares runs by.

    The model's mode and gradients are left as they were. Logging never stops training:
    a failure is one warning, and the writer goes on without pictures.

    Example:
        >>> import tempfile, torch
        >>> with tempfile.TemporaryDirectory() as d:
        ...     w = EventWriter(d)
        ...     log_epoch(w, torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), 5, torch.rand(1, 1, 6, 6))
        ...     w.close()
        ...     sorted({t for _, t, _ in read_events(w.path)})
        ['activations/0', 'filters/0', 'weights/0.bias', 'weights/0.weight']
    """
    import torch

    if getattr(writer, "_pictures_failed", False):
        return
    try:
        if hparams is not None and not getattr(writer, "_hparams_written", False):
            writer.hparams(hparams, metrics)
        # the plain module: under DistributedDataParallel (no collective for one rank's
        # pass) and torch.compile (no recompilation for a batch of one)
        module = getattr(model, "module", model)
        module = getattr(module, "_orig_mod", module)
        for name, p in module.named_parameters():
            writer.histogram(step, f"weights/{name}", p.detach().float().cpu().numpy())
        convs = [(n, m) for n, m in module.named_modules()
                 if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() >= 3
                 and "Conv" in type(m).__name__]
        if convs:
            name, conv = convs[0]
            w = conv.weight.detach().float().cpu()
            w = w.reshape(-1, *w.shape[2:])[:max_maps]  # one map per (filter, input channel)
            if w.dim() == 2:  # 1-D filters: a row each
                w = w[:, None, :]
            elif w.dim() == 4:  # 3-D filters: the middle depth
                w = w[:, w.shape[1] // 2]
            writer.image(step, f"filters/{name}", map_grid(w.numpy()))
        if sample is not None:
            found = {}
            hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: found.__setitem__(n, out))
                     for n, m in module.named_children()]
            for n, m in module.named_modules():
                if n.count(".") == 1 and n.startswith("layers."):  # a Network's layers
                    hooks.append(m.register_forward_hook(
                        lambda _m, _i, out, n=n: found.__setitem__(n, out)))
            was = module.training
            module.eval()
            try:
                with torch.no_grad():
                    module(sample[:1])
            finally:
                module.train(was)
                for h in hooks:
                    h.remove()
            for n, out in found.items():
                if isinstance(out, torch.Tensor) and out.dim() >= 3:
                    maps = _as_maps(out[0][:max_maps])
                    if maps is not None:
                        writer.image(step, f"activations/{n}", map_grid(maps))
    except Exception as error:  # noqa: BLE001 - pictures are never worth a failed run
        writer._pictures_failed = True
        warnings.warn(f"TensorBoard pictures are off for this run ({type(error).__name__}: "
                      f"{error}); the scalars go on.", RuntimeWarning, stacklevel=2)


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", _masked(crc32c(length))) + data
            + struct.pack("<I", _masked(crc32c(data))))


class EventWriter:
    """Append scalar summaries to ``directory/events.out.tfevents.<time>.<host>``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     w = EventWriter(d); w.scalars(3, {"train/loss": 0.5}); w.close()
        ...     [(s, t, round(v, 3)) for s, t, v in read_events(w.path)]
        [(3, 'train/loss', 0.5)]
    """

    def __init__(self, directory: str | Path):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._file = open(self.path, "ab")
        self._file.write(_record(_event(0, time.time(), file_version="brain.Event:2")))
        self._file.flush()

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._file.write(_record(_event(step, time.time(), scalars=values)))
        self._file.flush()

    def _write(self, step: int, summary: bytes) -> None:
        self._file.write(_record(_summary_event(step, summary)))
        self._file.flush()

    def image(self, step: int, tag: str, rgb) -> None:
        """An ``(H, W, 3)`` uint8 picture (TensorBoard's Images tab)."""
        rgb = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            from .._validation import ShapeError
            raise ShapeError(f"an image must be (height, width, 3) uint8. Received: shape "
                             f"{rgb.shape}.", argument="rgb")
        image = (_int(1, rgb.shape[0]) + _int(2, rgb.shape[1]) + _int(3, 3)
                 + _field_bytes(4, _png(rgb)))
        self._write(step, _value(tag, _field_bytes(4, image)))

    def histogram(self, step: int, tag: str, values) -> None:
        """The distribution of ``values`` in 30 equal buckets (the Histograms tab)."""
        self._write(step, _value(tag, _field_bytes(5, _histogram(values))))

    def hparams(self, hparams: dict, metrics=()) -> None:
        """The run's settings (numbers, strings, booleans; others as text) and the scalar
        tags they are judged by (the HParams tab), as the hparams plugin records them: the
        experiment, then this run's session start."""
        flat = {k: v for k, v in _flatten(hparams).items()}
        infos = b"".join(_field_bytes(4, _field_bytes(1, k.encode()) + _int(4, _kind(v)))
                         for k, v in flat.items())
        infos += b"".join(_field_bytes(5, _field_bytes(1, _field_bytes(2, m.encode())))
                          for m in metrics)
        self._write(0, _hparams_value("_hparams_/experiment", _field_bytes(2, infos)))
        entries = b"".join(_field_bytes(1, _field_bytes(1, k.encode())
                                        + _field_bytes(2, _proto_value(v)))
                           for k, v in flat.items())
        self._write(0, _hparams_value("_hparams_/session_start_info",
                                      _field_bytes(3, entries + _double(5, time.time()))))
        self._hparams_written = True

    def close(self) -> None:
        self._file.close()


def _flatten(values: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif isinstance(v, (list, tuple)):
            out[f"{prefix}{k}"] = ", ".join(map(str, v))
        elif v is not None:
            out[f"{prefix}{k}"] = v
    return out


def _kind(value) -> int:
    """The hparams plugin's DataType: 1 string, 2 bool, 3 float64."""
    if isinstance(value, bool):
        return 2
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return 3
    return 1


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes):
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        yield number, value


def read_events(path: str | Path) -> list[tuple[int, str, object]]:
    """The summaries of an event file as (step, tag, value), checking every record's CRCs:
    a float for a scalar, ``("image", height, width)``, ``("histogram", count)``, or
    ``("hparams", content bytes)``."""
    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        if struct.unpack("<I", data[pos + 8:pos + 12])[0] != _masked(crc32c(header)):
            raise ValueError(f"{path}: corrupt record length at byte {pos}")
        body = data[pos + 12:pos + 12 + length]
        if struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] != _masked(crc32c(body)):
            raise ValueError(f"{path}: corrupt record at byte {pos}")
        pos += 16 + length
        step = 0
        for number, value in _fields(body):
            if number == 2:
                step = value
            elif number == 5:
                for _, item in _fields(value):
                    parts = dict(_fields(item))
                    tag = parts[1].decode()
                    if 2 in parts:
                        out.append((step, tag, struct.unpack("<f", parts[2])[0]))
                    elif 4 in parts:
                        image = dict(_fields(parts[4]))
                        out.append((step, tag, ("image", image[1], image[2])))
                    elif 5 in parts:
                        histo = dict(_fields(parts[5]))
                        out.append((step, tag, ("histogram",
                                                int(struct.unpack("<d", histo[3])[0]))))
                    elif 9 in parts:
                        plugin = dict(_fields(dict(_fields(parts[9]))[1]))
                        out.append((step, tag, (plugin[1].decode(), plugin.get(2, b""))))
    return out
