"""Fuzzing the spec loader: any text or data gives a Spec or a SpecError, soon.

Three generators feed :func:`check_spec`: YAML-like text made of the tokens that break
parsers (anchors, aliases, merge keys, brackets, tabs, NUL, quotes, long numbers), specs
written as data with real layer names and hostile setting values, and those specs turned
into YAML and cut or spliced. In the normal test run each runs a fixed, derandomised set
of examples in a few seconds; ``make fuzz`` runs them for longer with fresh randomness
(``CNNKIT_FUZZ_EXAMPLES``), and, where atheris is installed, coverage-guided through
:func:`atheris_target` (tests/hostile/fuzz_atheris.py).

A failure found here becomes an entry of tests/hostile/spec/ once fixed.
"""

from __future__ import annotations

import os
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import cnnkit.spec as S  # noqa: E402
from cnnkit._validation import SpecError  # noqa: E402

EXAMPLES = int(os.environ.get("CNNKIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 100, derandomize=not EXAMPLES, deadline=None,
                database=None, suppress_health_check=list(HealthCheck),
                print_blob=True)
SECONDS = 5.0  # one load may take this long at most (a bomb took minutes)


def check_spec(source) -> None:
    """``load(source)`` returns a Spec or raises SpecError with a short message, in time."""
    started = time.monotonic()
    try:
        spec = S.load(source)
    except SpecError as error:
        message = str(error)
        assert message and len(message) < 4000, message[:300]
    else:
        assert isinstance(spec, S.Spec)
        assert isinstance(spec.output_shape, tuple)
    assert time.monotonic() - started < SECONDS


# ------------------------------------------------------------------------ text

TOKENS = ["input: ", "layers:", "name: ", "loss: ", "\n", "\n  ", "\n  - ", "- ", "  ", "\t",
          "[", "]", "{", "}", ", ", ": ", "&a ", "*a", "&b ", "*b", "<<: ", "? ", "!!str ",
          "!!python/object ", "!!binary ", "---\n", "...\n", "'", '"', "\\0", "\\x00", "#",
          "|\n", ">\n", "1", "8", "-1", "0x1f", "1e400", "99999999999999999999", "1_0",
          "~", "null", "true", "conv", "dense", "maxpool", "flatten", "residual", "filters",
          "kernel", "units", "padding", "same", "é", "\u2028", "\ufeff", "\x00", "\x85", "%YAML 1.1\n"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_token_soup(text):
    check_spec(text)


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text):
    check_spec(text if "\n" in text or not text.endswith((".yaml", ".yml", ".json"))
               else text + "\n")


# ------------------------------------------------------------------------ data

LAYER_TYPES = ["conv", "dense", "maxpool", "avgpool", "flatten", "relu", "tanh", "dropout",
               "batchnorm", "residual", "parallel", "lrn", "maxout", "lppool", "global_avgpool",
               "conv_transpose", "locally_connected", "tiled_conv", "separable_conv",
               "spatial_pyramid_pool", "stochastic_pool", "fractional_maxpool", "channel_pool",
               "adaptive_avgpool", "cnv"]
KEYS = ["filters", "kernel", "stride", "padding", "dilation", "groups", "units", "size",
        "activation", "rate", "layers", "bias", "flip", "output_padding", "momentum", "eps",
        "p", "pieces", "levels", "output", "mode", "shortcut", "merge", "alpha"]
SCALARS = st.one_of(
    st.integers(-3, 9), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.sampled_from(["same", "valid", "full", "relu", "", "\x00", "é" * 3, "a" * 2000,
                     "layers[0]", "1e-3", "reflect", "zeros"]),
    st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=12)


def layers(depth: int = 0):
    settings_ = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4)
    simple = st.one_of(
        st.sampled_from(LAYER_TYPES),
        st.builds(lambda t, s: {t: s}, st.sampled_from(LAYER_TYPES), settings_),
        st.builds(lambda t, v: {t: v}, st.sampled_from(LAYER_TYPES), SCALARS))
    if depth >= 2:
        return simple
    block = st.builds(lambda t, inner, extra: {t: {"layers": inner, **extra}},
                      st.sampled_from(["residual", "parallel"]),
                      st.lists(layers(depth + 1), max_size=3), settings_)
    return st.one_of(simple, block)


SPECS = st.fixed_dictionaries(
    {"input": st.one_of(st.lists(st.integers(-2, 40), min_size=1, max_size=4), VALUES),
     "layers": st.one_of(st.lists(layers(), max_size=6), VALUES)},
    optional={"name": st.one_of(st.text(max_size=20), VALUES),
              "loss": st.one_of(st.sampled_from(["softmax_cross_entropy", "euclidean", "x"]),
                                VALUES),
              "extra": VALUES})


@FUZZ
@given(SPECS)
def test_spec_as_data(data):
    check_spec(data)


@FUZZ
@given(SPECS, st.data())
def test_spec_as_yaml_cut_and_spliced(data, draw):
    import yaml

    text = yaml.safe_dump(data, default_flow_style=draw.draw(st.sampled_from([None, True, False])),
                          allow_unicode=True)
    if text:
        cut = draw.draw(st.integers(0, len(text)))
        splice = draw.draw(st.sampled_from(TOKENS))
        text = text[:cut] + splice + text[cut + draw.draw(st.integers(0, 3)):]
    check_spec(text)


def test_the_fuzzers_reach_both_answers():
    """The generators make valid specs as well as broken ones (else they test little)."""
    valid = {"input": [1, 8, 8], "layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten"]}
    check_spec(valid)
    assert isinstance(S.load(valid), S.Spec)
    with pytest.raises(SpecError):
        S.load("&a [*a]")


# ------------------------------------------------------------------------ atheris

def atheris_target(data: bytes) -> None:
    """One coverage-guided input: the bytes as UTF-8 YAML text (others are skipped)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    check_spec(text + "\n")

