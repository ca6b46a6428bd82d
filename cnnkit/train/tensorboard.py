"""A small TensorBoard event-file writer for scalars (no tensorboard package needed).

An event file is a sequence of TFRecords, each holding one serialised ``Event`` protocol
buffer. Only the few fields scalars need are encoded here:

``Event``   1: wall_time (double), 2: step (int64), 3: file_version (string), 5: summary
``Summary`` 1: repeated value;  ``Value`` 1: tag (string), 2: simple_value (float)

A TFRecord is ``uint64 length, uint32 masked_crc32c(length), data, uint32 masked_crc32c(data)``.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

__all__ = ["EventWriter", "crc32c", "read_events"]


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

    def close(self) -> None:
        self._file.close()


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


def read_events(path: str | Path) -> list[tuple[int, str, float]]:
    """Scalars of an event file as (step, tag, value), checking every record's CRCs."""
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
                    out.append((step, parts[1].decode(), struct.unpack("<f", parts[2])[0]))
    return out
