"""The spec loader's bounds through the library (the CLI side is in the corpus): hostile
YAML and data are refused with one-line SpecErrors, quickly, and ordinary uses of anchors,
aliases and merge keys still work and point at the right lines."""

from __future__ import annotations

import time

import pytest

import cnnkit
import cnnkit.spec as S
from cnnkit._validation import SpecError
from cnnkit.spec import _load

BASE = "input: [1, 8, 8]\nlayers: [flatten, {dense: 3}]\n"


def bomb(levels: int, width: int) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_build_refuses_an_alias_bomb_quickly():
    text = bomb(9, 9) + BASE
    started = time.monotonic()
    with pytest.raises(SpecError, match=r"^line 6, column 5: this value \(&a5\) stands for more "
                                        r"than 100,000 values once its YAML aliases are expanded"):
        cnnkit.build(text)
    assert time.monotonic() - started < 2  # it hung before


def test_a_bomb_inside_the_layers_is_refused_before_the_layers_are_read():
    text = bomb(8, 9).replace("x", "relu") + "input: [1, 8, 8]\nlayers: *a7\n"
    with pytest.raises(SpecError, match=r"stands for more than 100,000 values"):
        S.load(text)


def test_anchors_aliases_and_merge_keys_within_bounds_still_work():
    text = """
conv: &conv {filters: 4, kernel: 3, padding: same}
deeper: &deeper {<<: *conv, filters: 8}
input: [1, 8, 8]
layers:
  - conv: *conv
  - conv: *deeper
  - flatten
""".replace("conv: &conv", "x_conv: &conv").replace("deeper: &deeper", "x_deeper: &deeper")
    with pytest.raises(SpecError, match=r"unknown top-level key 'x_conv'"):
        S.load(text)
    text = """
input: [1, 8, 8]
layers:
  - conv: &conv {filters: 4, kernel: 3, padding: same}
  - conv: {<<: *conv, filters: 8}
  - conv: *conv
  - flatten
"""
    spec = S.load(text)
    assert [row.output_shape for row in spec.rows] == [(4, 8, 8), (8, 8, 8), (4, 8, 8), (256,)]


def test_an_error_inside_an_aliased_value_points_at_the_anchor():
    text = "input: [1, 4, 4]\nlayers:\n  - conv: &big {filters: 2, kernel: 9}\n  - conv: *big\n"
    with pytest.raises(SpecError, match=r"^line 3, column 29: layers\[0\]\.conv\.kernel: "
                                        r"kernel 9 does not fit"):
        S.load(text)


def test_a_duplicate_key_through_an_alias_is_found_where_it_is_written():
    text = "base: &b {filters: 2, filters: 3}\n" + BASE
    with pytest.raises(SpecError, match=r"^line 1, column 23: key 'filters' appears twice in "
                                        r"the same mapping \(first on line 1\)"):
        S.load(text)


def test_input_given_in_code_drops_the_yaml_marks_of_input():
    text = "input: [1, 8, 8]\nlayers: [{conv: {filters: 2, kernel: 3}}, flatten]\n"
    with pytest.raises(SpecError) as info:
        S.load(text, input=[1, 2, 2])
    assert not str(info.value).startswith("line 1")


def test_values_are_bounded_in_length_depth_and_characters():
    with pytest.raises(SpecError, match=r"^line 1, column 7: a value of 1,001 characters; keys and "
                                        r"values in a spec are at most 1,000\. Shorten it\.$"):
        S.load("name: " + "n" * 1001 + "\n" + BASE)
    assert S.load("name: " + "n" * 1000 + "\n" + BASE).name == "n" * 1000
    with pytest.raises(SpecError, match=r"values nested deeper than 100 levels"):
        S.load("input: [1, 8, 8]\nlayers: " + "[" * 101 + "]" * 101 + "\n")
    with pytest.raises(SpecError, match=r"line 1, column 7: a value with a NUL character"):
        S.load('name: "a\\0b"\n' + BASE)
    with pytest.raises(SpecError, match=r"name: name must be printable text"):
        S.load({"name": "a\nb", "input": [1, 8, 8], "layers": ["flatten"]})
    with pytest.raises(SpecError, match=r"the spec text has 1,048,577 characters; a spec is at "
                                        r"most 1,048,576"):
        S.load("#" * 2 ** 20 + "\n")


def test_a_spec_file_must_be_utf8(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())  # a byte-order mark is fine
    assert S.load(path).output_shape == (3,)
    path.write_bytes(b"# caf\xe9\n" + BASE.encode())
    with pytest.raises(SpecError, match=rf"^spec file '{path}' is not UTF-8 text: byte 0xe9 at "
                                        r"line 1, column 6 \(invalid continuation byte\)\. Save "
                                        r"the file as UTF-8\.$"):
        S.load(path)
    path.write_bytes(BASE.encode("utf-16"))
    with pytest.raises(SpecError, match=r"is UTF-16 text"):
        S.load(path)
    path.write_bytes(b"x" * (2 ** 20 + 1))
    with pytest.raises(SpecError, match=r"is larger than 1,048,576 bytes"):
        S.load(path)


def test_a_dict_that_contains_itself_or_nests_too_deep_is_refused():
    layers: list = ["flatten"]
    layers.append(layers)
    with pytest.raises(SpecError, match=r"^layers\[1\]: this list contains itself, so the spec "
                                        r"would never end\. Give a copy instead\.$"):
        S.load({"input": [1, 8, 8], "layers": layers})
    deep: list = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(SpecError, match=r"values nested deeper than 100 levels"):
        S.load({"input": [1, 8, 8], "layers": deep})
    shared = ["relu"] * 1000
    with pytest.raises(SpecError, match=r"more than 100,000 values"):
        S.load({"input": [1, 8, 8], "layers": [shared] * 200})
    # the same object twice is fine (it is not a cycle)
    relu = {"relu": {}}
    assert len(S.load({"input": [1, 8, 8], "layers": [relu, relu, "flatten"]}).layers) == 3


def test_build_refuses_parameters_beyond_the_machines_memory(monkeypatch):
    spec = S.load("input: [1, 8, 8]\nlayers: [flatten, {dense: 10000000000}]\n")
    assert spec.rows[-1].params == 650_000_000_000  # summary still works
    with pytest.raises(SpecError, match=r"^layers\[1\]: the network has 650,000,000,000 "
                                        r"parameters \(2,421\.4 GiB as float32\), more than this "
                                        r"machine's memory \(1\.0 GiB\); the largest layer, "
                                        r"dense, has 650,000,000,000\. Use fewer units"):
        monkeypatch.setattr(_load, "_physical_memory", lambda: 2 ** 30)
        spec.build()
    assert S.load(BASE).build() is not None
