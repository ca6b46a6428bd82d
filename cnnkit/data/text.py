"""Text for convolutional networks: a tokenizer, a vocabulary and the bundled ``fortunes`` set.

A sentence-classification CNN (Kim 2014, "Convolutional Neural Networks for Sentence
Classification") reads a text as a fixed-length row of token ids that an embedding layer
turns into a ``(length, dim)`` matrix. This module makes those rows:

- ``tokenize(text)``: lower-cased words (letters and digits, with inner apostrophes such as
  ``don't``) and single punctuation marks; deterministic, no language model.
- ``Vocabulary``: token <-> id with ``<pad>`` = 0 and ``<unk>`` = 1, built from training
  texts only (``Vocabulary.build``) so that the test split holds truly unseen words;
  ``encode`` pads or truncates to a fixed length, ``decode`` maps ids back.
- ``load_fortunes(split)``: 6-way topic classification of the short texts in Debian's
  ``fortunes`` package (also ``load_dataset("fortunes")``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import torch

from .._validation import ArgumentError, ArgumentTypeError, ShapeError, one_of, positive_int
from .dataset import DataFileError, Dataset

__all__ = ["PAD", "UNK", "Vocabulary", "load_fortunes", "split_fortune_file", "tokenize"]

PAD, UNK = "<pad>", "<unk>"

# A word is a run of letters or digits (any script), with apostrophes only inside it
# ("don't", "o'clock"); every other visible character is a token of its own. The
# underscore counts as punctuation, although \w matches it.
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]|_")


def tokenize(text: str) -> list[str]:
    """Split a text into lower-case word and punctuation tokens.

    Args:
        text: any string.

    Raises:
        ArgumentTypeError: ``text`` is not a str.

    Example:
        >>> tokenize("Don't panic -- it's only 42!")
        ["don't", 'panic', '-', '-', "it's", 'only', '42', '!']
    """
    if not isinstance(text, str):
        raise ArgumentTypeError(
            f"text must be a str. Received: text={text!r} ({type(text).__name__})."
        )
    return _TOKEN.findall(text.lower())


def _texts(texts, name: str = "texts") -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, Iterable):
        raise ArgumentTypeError(
            f"{name} must be a str or a sequence of str. Received: {name}={texts!r}."
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ArgumentTypeError(
                f"{name}[{i}] must be a str. Received: {text!r} ({type(text).__name__})."
            )
    return texts


class Vocabulary:
    """Token <-> id map with ``<pad>`` = 0 and ``<unk>`` = 1.

    Args:
        tokens: every token in id order; the first two must be ``"<pad>"`` and ``"<unk>"``.

    Raises:
        ArgumentError: the first two tokens are not ``<pad>``, ``<unk>``, or a token repeats.

    Example:
        >>> vocab = Vocabulary.build(["the cat sat", "the dog sat", "a cat"], min_count=2)
        >>> vocab.tokens
        ('<pad>', '<unk>', 'cat', 'sat', 'the')
        >>> vocab.encode(["the bird sat", "cat"], length=4).tolist()
        [[4, 1, 3, 0], [2, 0, 0, 0]]
        >>> vocab.decode([4, 1, 3, 0])
        'the <unk> sat'
    """

    pad_id = 0
    unk_id = 1

    def __init__(self, tokens: Sequence[str]):
        tokens = tuple(_texts(tokens, "tokens"))
        if tokens[:2] != (PAD, UNK):
            raise ArgumentError(
                f"tokens must start with {PAD!r}, {UNK!r} (ids 0 and 1). Received: tokens "
                f"starting {list(tokens[:2])!r}. Use Vocabulary.build(texts) or prepend them."
            )
        index: dict[str, int] = {}
        for i, token in enumerate(tokens):
            if token in index:
                raise ArgumentError(
                    f"tokens must be unique. Received: {token!r} at ids {index[token]} and {i}."
                )
            index[token] = i
        self._tokens = tokens
        self._index = index

    @classmethod
    def build(cls, texts, *, min_count: int = 2, max_size: int | None = None) -> Vocabulary:
        """A vocabulary of the tokens in ``texts`` seen at least ``min_count`` times.

        Tokens are ordered by falling count, ties by the token itself, so that the same
        texts always give the same ids. Build it on the training split only.

        Args:
            texts: a str or a sequence of str.
            min_count: tokens seen fewer times become ``<unk>``.
            max_size: the most ids in all, ``<pad>`` and ``<unk>`` included (None: no cap).

        Raises:
            ArgumentError: ``min_count`` < 1 or ``max_size`` < 2.
        """
        min_count = positive_int(min_count, "min_count")
        if max_size is not None and (positive_int(max_size, "max_size") < 2):
            raise ArgumentError(
                f"max_size must be at least 2 (for {PAD!r} and {UNK!r}). Received: "
                f"max_size={max_size}."
            )
        counts = Counter(token for text in _texts(texts) for token in tokenize(text))
        for reserved in (PAD, UNK):
            counts.pop(reserved, None)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size - 2]
        return cls((PAD, UNK, *kept))

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token, in id order."""
        return self._tokens

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"

    def id(self, token: str) -> int:
        """The id of ``token``; ``unk_id`` (1) for a token not in the vocabulary."""
        return self._index.get(token, self.unk_id)

    def encode(self, texts, length: int, *, unknown: str = "unk") -> torch.Tensor:
        """Token ids of each text, truncated or padded with ``<pad>`` to ``length``.

        Args:
            texts: a str or a sequence of str.
            length: tokens per row; longer texts keep their first ``length`` tokens.
            unknown: ``"unk"`` maps unknown tokens to ``<unk>``; ``"error"`` refuses them.

        Shape:
            ``(N, length)`` int64 for N texts (``N = 1`` for a single str).

        Raises:
            ArgumentError: ``length`` < 1; with ``unknown="error"``, a token not in the
                vocabulary (names the text and token).
        """
        length = positive_int(length, "length")
        one_of(unknown, ("unk", "error"), "unknown")
        texts = _texts(texts)
        rows = [[self._index.get(t, self.unk_id) for t in tokenize(text)[:length]]
                for text in texts]
        if unknown == "error":
            for i, (text, row) in enumerate(zip(texts, rows)):
                if self.unk_id in row:
                    token = tokenize(text)[row.index(self.unk_id)]
                    raise ArgumentError(
                        f"texts[{i}] has the token {token!r}, which is not in the "
                        f"vocabulary ({len(self)} tokens). Pass unknown='unk' to map it to "
                        f"{UNK!r}, or rebuild the vocabulary with these texts."
                    )
        # One flat tensor scattered into the padded block: no per-row tensor work.
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
        flat = torch.tensor([i for r in rows for i in r], dtype=torch.int64)
        out = torch.full((len(rows), length), self.pad_id, dtype=torch.int64)
        out[torch.arange(length) < lengths[:, None]] = flat
        return out

    def decode(self, ids, *, keep_padding: bool = False):
        """Tokens of a row of ids joined by spaces (a list of str for a 2-D input).

        Args:
            ids: ``(L,)`` or ``(N, L)`` ids, tensor or nested lists.
            keep_padding: keep ``<pad>`` tokens instead of dropping them.

        Raises:
            ArgumentError: an id outside ``0 .. len(self) - 1``.
            ShapeError: ``ids`` is not 1-D or 2-D.
        """
        t = torch.as_tensor(ids)
        if t.numel() == 0:
            t = t.to(torch.int64)  # [] arrives as float32
        if t.dim() not in (1, 2) or t.is_floating_point() or t.dtype == torch.bool:
            raise ShapeError(
                f"ids must be a 1-D or 2-D array of integer ids. Received: ids of shape "
                f"{tuple(t.shape)} and dtype {t.dtype}."
            )
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= len(self)):
            bad = int(t[(t < 0) | (t >= len(self))][0])
            raise ArgumentError(
                f"ids must lie in 0..{len(self) - 1} for this vocabulary of {len(self)} "
                f"tokens. Received: the id {bad}. Decode with the vocabulary that encoded "
                f"the ids."
            )
        rows = t.tolist() if t.dim() == 2 else [t.tolist()]
        words = [" ".join(self._tokens[i] for i in row if keep_padding or i != self.pad_id)
                 for row in rows]
        return words if t.dim() == 2 else words[0]

    def save(self, path: str | PathLike) -> None:
        """Write the tokens, in id order, as a JSON list."""
        Path(path).write_text(json.dumps(list(self._tokens), ensure_ascii=False),
                              encoding="utf-8")

    @classmethod
    def load(cls, path: str | PathLike) -> Vocabulary:
        """Read a vocabulary written by ``save``.

        Raises:
            DataFileError: the file is missing or is not a JSON list of tokens.
        """
        try:
            tokens = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataFileError(f"Cannot read the vocabulary file {path}: {error}.") from error
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise DataFileError(
                f"The vocabulary file {path} must hold a JSON list of tokens (str). "
                f"Write it with Vocabulary.save."
            )
        return cls(tokens)


def split_fortune_file(text: str) -> list[str]:
    """The entries of a fortune(6) data file: blocks separated by lines holding ``%``.

    Trailing spaces are removed from each line and blank lines around an entry are
    dropped; empty entries are left out.

    Example:
        >>> split_fortune_file("A penny saved.\\n%\\n  Two lines,\\nhere.  \\n%\\n")
        ['A penny saved.', '  Two lines,\\nhere.']
    """
    entries, block = [], []
    for line in text.split("\n"):
        if line.rstrip() == "%":
            entries.append(block)
            block = []
        else:
            block.append(line.rstrip())
    entries.append(block)
    out = []
    for lines in entries:
        joined = "\n".join(lines).strip("\n")
        if joined.strip():
            out.append(joined)
    return out


# ----------------------------------------------------------------------------- bundled set

_PARSED: dict[str, dict] = {}


def _read_bundled(info) -> dict:
    from . import datasets
    from ._files import read_verified_xz

    path = datasets._FILES_DIR / info.file
    key = str(path)
    if key not in _PARSED:
        raw = read_verified_xz(path, info.sha256, info.name)
        try:
            content = json.loads(raw.decode("utf-8"))
            classes = tuple(content["classes"])
            parts = {s: content[s] for s in ("train", "test")}
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise DataFileError(
                f"Cannot read the data file of {info.name!r}: {path}: {error}."
            ) from error
        _PARSED[key] = {"classes": classes, **parts, "vocabularies": {}}
    return _PARSED[key]


def load_fortunes(split: str = "train", *, length: int = 64, min_count: int = 2,
                  device=None) -> Dataset:
    """The bundled ``fortunes`` topic set as padded token ids, ready for a text CNN.

    Six topics of Debian's ``fortunes`` package (art, computers, politics, science,
    songs-poems, work); duplicates removed; 80/20 split per topic. The vocabulary is
    built on the training split only (``min_count`` times or more), whichever split is
    asked for, and is returned in ``info["vocabulary"]``; ``info["texts"]`` holds the raw
    texts in row order (of the split as loaded: indexing the Dataset does not subset it).

    Args:
        split: ``"train"``, ``"test"`` or ``"all"`` (train then test).
        length: tokens per text (truncated or padded with ``<pad>`` = 0).
        min_count: the vocabulary keeps training tokens seen this often.
        device: where to put the tensors (default: CPU).

    Shape:
        ``x``: ``(N, length)`` int64 token ids; ``y``: ``(N,)`` int64 topic indices.

    Raises:
        ArgumentError: unknown ``split``, ``length`` or ``min_count`` < 1.
        DataFileError: the shipped file is missing or fails its SHA-256 check.

    Example:
        >>> train = load_fortunes("train")
        >>> train.x.shape[1], train.x.dtype, train.classes[:3]
        (64, torch.int64, ('art', 'computers', 'politics'))
        >>> vocab = train.info["vocabulary"]
        >>> vocab.decode(vocab.encode("Computers are useless.", length=6)[0])
        'computers are useless .'
    """
    from .datasets import SPLITS, dataset_info

    one_of(split, SPLITS, "split")
    length = positive_int(length, "length")
    min_count = positive_int(min_count, "min_count")
    info = dataset_info("fortunes")
    content = _read_bundled(info)
    # The vocabulary of the training split, built once per min_count.
    vocabularies = content["vocabularies"]
    if min_count not in vocabularies:
        train_texts = [text for _, text in content["train"]]
        vocabularies[min_count] = Vocabulary.build(train_texts, min_count=min_count)
    vocab = vocabularies[min_count]
    items = content["train"] + content["test"] if split == "all" else content[split]
    texts = tuple(text for _, text in items)
    x = vocab.encode(texts, length)
    y = torch.tensor([label for label, _ in items], dtype=torch.int64)
    if device is not None:
        x, y = x.to(device), y.to(device)
    meta = {"description": info.description, "licence": info.licence, "length": length,
            "min_count": min_count, "vocabulary": vocab, "texts": texts}
    return Dataset(x, y, content["classes"], name="fortunes", split=split, info=meta)
