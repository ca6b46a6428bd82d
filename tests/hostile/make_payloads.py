"""Write the corpus's payload files that are binary or generated (run from anywhere).

Each payload is a few hundred bytes to 65 KB; the manifests beside them say what they are
for. Re-running this rewrites the same bytes (no randomness).

Run: ``python tests/hostile/make_payloads.py``
"""

from __future__ import annotations

import io
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
BASE = "input: [1, 8, 8]\nlayers: [flatten, {dense: 3}]\n"


def alias_bomb(levels: int, width: int, leaf: str = "x") -> str:
    """"Billion laughs": each level a list of ``width`` aliases of the level before."""
    lines = [f"a0: &a0 [{', '.join([leaf] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def spec_payloads() -> dict[str, bytes]:
    out = {
        # 9 levels x 9 aliases: 9**9 = 387 million values from 472 bytes
        "alias_bomb.yaml": (alias_bomb(9, 9) + BASE).encode(),
        # the same under `layers`, where the spec's own code would walk it
        "alias_bomb_layers.yaml": (alias_bomb(8, 9, "flatten")
                                   + "input: [1, 8, 8]\nlayers: *a7\n").encode(),
        # 12 levels x 16: 16**12 (281 trillion) values from 1.4 KB
        "alias_bomb_large.yaml": (alias_bomb(12, 16) + BASE).encode(),
        # merge keys (<<) copy mappings into mappings: the same growth
        "merge_key_bomb.yaml": ("a0: &a0 {k: 1}\n" + "".join(
            f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 9)}]}}\n" for i in range(1, 9))
            + BASE).encode(),
        "recursive_alias.yaml": b"input: [1, 8, 8]\nlayers: &a [flatten, *a]\n",
        "deep_list.yaml": ("input: [1, 8, 8]\nlayers: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "deep_mapping.yaml": ("input: [1, 8, 8]\nlayers: " + "{a: " * 3000 + "1"
                              + "}" * 3000 + "\n").encode(),
        "latin1.yaml": b"name: caf\xe9\n" + BASE.encode(),
        "utf16_bom.yaml": BASE.encode("utf-16"),
        "utf16_no_bom.yaml": BASE.encode("utf-16-le"),
        "nul_byte.yaml": b"name: a\x00b\n" + BASE.encode(),
        "nul_escaped.yaml": b'name: "a\\0b"\n' + BASE.encode(),
        "control_name.yaml": b'name: "net\\e[31m"\n' + BASE.encode(),
        "huge_scalar.yaml": ("name: " + "x" * 5000 + "\n" + BASE).encode(),
        "huge_int.yaml": ("input: [1, 8, 8]\nlayers: [flatten, {dense: " + "9" * 5000
                          + "}]\n").encode(),
        "unhashable_key.yaml": b"? [a, b]\n: 1\n" + BASE.encode(),
        "binary.yaml": bytes(range(256)) * 4,
        "control_char.yaml": b"input: [1, 8, 8]\nname: a\x1fb\nlayers: [flatten]\n",
    }
    return out


def viewer_payloads() -> dict[str, bytes]:
    import numpy as np
    from PIL import Image

    def save(image, fmt, **kw):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **kw)
        return buffer.getvalue()

    return {
        # 65 KB of PNG that decodes to 4096 x 4096 x 4 bytes (and more while converting)
        "png_bomb_rgba.png": save(Image.fromarray(np.zeros((4096, 4096, 4), np.uint8)), "PNG"),
        # 1-bit PNG: 25 M pixels in 10 KB
        "png_bomb_1bit.png": save(Image.new("1", (5000, 5000)), "PNG"),
        "gif_bomb.gif": save(Image.new("P", (4096, 4096)), "GIF"),
        # PostScript: Pillow would hand it to Ghostscript; the viewer opens no such format
        "image.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n",
        "truncated.png": save(Image.new("L", (64, 64), 255), "PNG")[:60],
        # a 16x16 JPEG whose header says 20000 x 10000 pixels
        "jpeg_header_bomb.jpg": _resize_jpeg_header(save(Image.new("L", (16, 16)), "JPEG"),
                                                    20000, 10000),
    }


def _resize_jpeg_header(data: bytes, width: int, height: int) -> bytes:
    """``data`` with the size in its start-of-frame marker (FFC0) replaced."""
    at = data.index(b"\xff\xc0")
    return (data[:at + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big")
            + data[at + 9:])


def main() -> None:
    for folder, payloads in (("spec", spec_payloads()), ("viewer", viewer_payloads())):
        for name, data in payloads.items():
            (HERE / folder / name).write_bytes(data)
            print(f"{folder}/{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
