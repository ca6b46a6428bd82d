"""docs/train.md: its Python examples run (and print what their comments say), and its
tables name every setting and every augmentation."""

import contextlib
import dataclasses
import functools
import io
import re
from pathlib import Path

import pytest

from cnnkit.data.augment import AUGMENTATIONS
from cnnkit.train.config import TrainConfig

DOC = Path(__file__).resolve().parent.parent / "docs" / "train.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def _expected(block: str) -> list[str]:
    """The comment of each print line, up to a colon: what that line prints."""
    return [m.group(1).split(":")[0].strip()
            for m in re.finditer(r"^print\(.*\)\s+#\s*(.+)$", block, re.M)]


def test_every_setting_is_in_the_settings_table():
    table = DOC.read_text().split("## Every setting", 1)[1]
    rows = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert fields - rows == set(), "settings missing from docs/train.md"
    assert rows - fields == set(), "docs/train.md lists settings that do not exist"


def test_every_augmentation_is_in_the_augmentation_table():
    table = DOC.read_text().split("## Augmentation", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", table, re.M)) == set(AUGMENTATIONS)


def test_the_python_examples_run_and_print_what_they_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    blocks = _blocks("python")
    assert len(blocks) >= 8
    for number, block in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(block, f"docs/train.md python block {number}", "exec"), namespace)
        printed = out.getvalue().splitlines()
        expected = _expected(block)
        if expected:
            assert printed[-len(expected):] == expected, (number, block)


@pytest.mark.parametrize("line", [line for block in _blocks("console") for line in block.splitlines()
                                  if line.startswith("$ cnnkit ")])
def test_the_console_examples_parse(line):
    """Every command line of the guide is one the parser accepts (running them needs the
    runs and folders they name)."""
    import shlex

    argv = shlex.split(line[2:].split("  #")[0])[1:]
    _parser().parse_args(argv)


@functools.lru_cache(maxsize=1)
def _parser():
    from cnnkit.cli.main import build_parser

    return build_parser()
