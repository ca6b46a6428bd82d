"""Text data: tokenizer, vocabulary, fortune files and the bundled fortunes set."""

import hashlib
import json
import lzma
import shutil

import pytest
import torch

from cnnkit import ArgumentError
from cnnkit.data import DataFileError, Dataset, dataset_info, load_dataset
from cnnkit.data import datasets as registry
from cnnkit.data import text as text_module
from cnnkit.data.text import PAD, UNK, Vocabulary, load_fortunes, split_fortune_file, tokenize

TOPICS = ("art", "computers", "politics", "science", "songs-poems", "work")


# ----------------------------------------------------------------------------- tokenizer


def test_tokenize_words_punctuation_and_case():
    assert tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert tokenize("  tabs\tand\nnewlines  ") == ["tabs", "and", "newlines"]
    # Inner apostrophes stay in the word; leading/trailing quotes are punctuation.
    assert tokenize("'Don't' o'clock") == ["'", "don't", "'", "o'clock"]
    assert tokenize("It\u2019s") == ["it\u2019s"]
    # Digits are words; each punctuation mark is one token; underscore too.
    assert tokenize("1 + 1 = 3...") == ["1", "+", "1", "=", "3", ".", ".", "."]
    assert tokenize("snake_case") == ["snake", "_", "case"]
    # Letters of any script; lower-casing is Unicode-aware.
    assert tokenize("Ärger über Σίσυφος") == ["ärger", "über", "σίσυφος"]
    assert tokenize("") == []


def test_tokenize_is_deterministic_and_rejects_non_str():
    text = "The quick brown fox -- jumps (over) the lazy dog's back?"
    assert tokenize(text) == tokenize(text)
    with pytest.raises(TypeError, match=r"text must be a str. Received: text=b'x' \(bytes\)"):
        tokenize(b"x")


# ----------------------------------------------------------------------------- vocabulary


def test_vocabulary_build_orders_by_count_then_token_with_min_count():
    texts = ["b a a", "c b a", "d"]
    vocab = Vocabulary.build(texts, min_count=2)
    # counts: a 3, b 2, c 1, d 1 -> c and d fall below min_count.
    assert vocab.tokens == (PAD, UNK, "a", "b")
    assert Vocabulary.build(texts, min_count=1).tokens == (PAD, UNK, "a", "b", "c", "d")
    assert Vocabulary.build(texts, min_count=1, max_size=4).tokens == (PAD, UNK, "a", "b")
    assert vocab.id("a") == 2 and vocab.id("zebra") == vocab.unk_id == 1
    assert "a" in vocab and "c" not in vocab and len(vocab) == 4
    assert Vocabulary.build(["x y"], min_count=1) == Vocabulary.build("x y", min_count=1)


def test_encode_pads_truncates_and_maps_unknown():
    vocab = Vocabulary.build(["one two three four"], min_count=1)
    ids = vocab.encode(["one two", "four three two one five six", ""], length=4)
    assert ids.dtype == torch.int64 and ids.shape == (3, 4)
    one, two, three, four = (vocab.id(w) for w in ("one", "two", "three", "four"))
    assert ids.tolist() == [[one, two, 0, 0], [four, three, two, one], [0, 0, 0, 0]]
    assert vocab.encode("five one", length=3).tolist() == [[1, one, 0]]


def test_decode_round_trip_and_padding():
    vocab = Vocabulary.build(["the cat sat on the mat ."], min_count=1)
    ids = vocab.encode(["the cat sat on the mat .", "the dog sat"], length=8)
    assert vocab.decode(ids) == ["the cat sat on the mat .", f"the {UNK} sat"]
    assert vocab.decode(ids[1], keep_padding=True) == f"the {UNK} sat" + f" {PAD}" * 5
    assert vocab.decode([]) == ""


def test_unknown_error_mode_names_text_and_token():
    vocab = Vocabulary.build(["a b"], min_count=1)
    assert vocab.encode(["a b"], 2, unknown="error").tolist() == [[2, 3]]
    with pytest.raises(ArgumentError, match=r"texts\[1\] has the token 'zebra', which is not "
                                            r"in the vocabulary \(4 tokens\). Pass "
                                            r"unknown='unk'"):
        vocab.encode(["a", "b zebra"], 4, unknown="error")
    with pytest.raises(ArgumentError, match=r"unknown must be one of 'unk', 'error'. "
                                            r"Received: unknown='skip'"):
        vocab.encode(["a"], 4, unknown="skip")


def test_vocabulary_errors():
    vocab = Vocabulary.build(["a b"], min_count=1)
    with pytest.raises(ArgumentError, match=r"length must be positive. Received: "
                                            r"length=0"):
        vocab.encode("a", 0)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str. Received: 3 \(int\)"):
        vocab.encode(["a", 3], 2)
    with pytest.raises(ArgumentError, match=r"ids must lie in 0..3 for this vocabulary of 4 "
                                            r"tokens. Received: the id 7"):
        vocab.decode([2, 7])
    with pytest.raises(ArgumentError, match=r"ids must lie in 0..3.*Received: the id -1"):
        vocab.decode([[2, -1]])
    with pytest.raises(ValueError, match=r"ids must be a 1-D or 2-D array of integer ids. "
                                         r"Received: ids of shape \(2,\) and dtype "
                                         r"torch.float32"):
        vocab.decode(torch.tensor([1.0, 2.0]))
    with pytest.raises(ArgumentError, match=r"tokens must start with '<pad>', '<unk>'"):
        Vocabulary(["a", "b"])
    with pytest.raises(ArgumentError, match=r"tokens must be unique. Received: 'a' at ids 2 "
                                            r"and 3"):
        Vocabulary([PAD, UNK, "a", "a"])
    with pytest.raises(ArgumentError, match=r"max_size must be at least 2"):
        Vocabulary.build(["a"], max_size=1)
    with pytest.raises(ArgumentError, match=r"min_count must be positive. Received: "
                                            r"min_count=0"):
        Vocabulary.build(["a"], min_count=0)


def test_vocabulary_save_and_load(tmp_path):
    vocab = Vocabulary.build(["ein zwei zwei", "drei"], min_count=1)
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(DataFileError, match=r"vocabulary file .*bad.json must hold a JSON "
                                            r"list of tokens"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(DataFileError, match=r"Cannot read the vocabulary file .*missing.json"):
        Vocabulary.load(tmp_path / "missing.json")


def test_split_fortune_file():
    raw = "First.\n%\n\n  Second, two lines.   \n\t-- Someone\n\n%\n%\n   \n%\nLast"
    assert split_fortune_file(raw) == ["First.", "  Second, two lines.\n\t-- Someone",
                                       "Last"]


# ----------------------------------------------------------------------------- bundled set


def _content():
    info = dataset_info("fortunes")
    raw = (registry._FILES_DIR / info.file).read_bytes()
    return json.loads(lzma.decompress(raw).decode("utf-8"))


def test_shipped_file_checksum_and_contents():
    info = dataset_info("fortunes")
    raw = (registry._FILES_DIR / info.file).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == info.sha256
    assert len(raw) < 400_000
    content = _content()
    assert tuple(content["classes"]) == TOPICS == info.classes
    assert content["source"]["package"] == "fortunes 1:1.99.1-7.3"
    train, test = content["train"], content["test"]
    assert (len(train), len(test)) == (info.sizes["train"], info.sizes["test"])
    # Deduplicated on the token sequence, across both splits and all topics.
    keys = [tuple(tokenize(t)) for _, t in train + test]
    assert len(set(keys)) == len(keys)
    # Stratified 80/20 per topic, hundreds of texts per topic.
    for label in range(len(TOPICS)):
        n_train = sum(1 for y, _ in train if y == label)
        n_test = sum(1 for y, _ in test if y == label)
        assert n_train >= 300 and n_test == round(0.2 * (n_train + n_test))
    assert max(len(t) for _, t in train + test) <= 1000


def test_load_fortunes_shapes_vocabulary_and_split():
    train, test = load_fortunes("train"), load_fortunes("test")
    every = load_dataset("fortunes", "all")
    assert isinstance(train, Dataset) and train.classes == TOPICS
    assert (len(train), len(test), len(every)) == (3261, 816, 4077)
    for ds in (train, test, every):
        assert ds.x.dtype == torch.int64 and ds.x.shape[1:] == (64,)
        assert ds.y.dtype == torch.int64 and ds.input_shape == (64,)
        assert len(ds.info["texts"]) == len(ds)
    vocab = train.info["vocabulary"]
    # The vocabulary comes from the training split only, whatever the split loaded.
    assert test.info["vocabulary"] == vocab == every.info["vocabulary"]
    assert vocab == Vocabulary.build(train.info["texts"], min_count=2)
    assert int(train.x.max()) < len(vocab) and int(train.x.min()) >= 0
    # Test texts hold words never seen in training: they map to <unk>.
    test_only = {t for text in test.info["texts"] for t in tokenize(text)} - set(vocab.tokens)
    assert test_only and bool((test.x == vocab.unk_id).any())
    # Row k encodes text k: decoding gives its first 64 tokens (unknown ones as <unk>).
    for k in (0, 1, len(test) - 1):
        tokens = [t if t in vocab else UNK for t in tokenize(test.info["texts"][k])[:64]]
        assert test.x[k].tolist()[:len(tokens)] == [vocab.id(t) for t in tokens]
        assert vocab.decode(test.x[k]) == " ".join(tokens)
    # Classes interleaved (stored in hash order), all six present in both splits.
    assert train.y.bincount().tolist() == [366, 808, 554, 486, 556, 491]
    assert test.y.bincount().tolist() == [91, 202, 139, 122, 139, 123]
    assert (train.y[1:] == train.y[:-1]).float().mean() < 0.5


def test_load_fortunes_options_and_errors():
    short = load_fortunes("test", length=8, min_count=5)
    assert short.x.shape == (816, 8)
    assert len(short.info["vocabulary"]) < len(load_fortunes("test").info["vocabulary"])
    with pytest.raises(ArgumentError, match=r"split must be one of 'train', 'test', 'all'. "
                                            r"Received: split='dev'"):
        load_fortunes("dev")
    with pytest.raises(ArgumentError, match=r"length must be positive. Received: "
                                            r"length=-1"):
        load_fortunes(length=-1)


def test_corrupt_fortunes_file_is_reported(tmp_path, monkeypatch):
    name = dataset_info("fortunes").file
    shutil.copy(registry._FILES_DIR / name, tmp_path / name)
    monkeypatch.setattr(registry, "_FILES_DIR", tmp_path)
    monkeypatch.setattr(text_module, "_PARSED", {})
    raw = bytearray((tmp_path / name).read_bytes())
    raw[100] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(raw))
    with pytest.raises(DataFileError, match=r"data file of 'fortunes' is corrupt: "
                                            r".*fortunes.json.xz has SHA-256"):
        load_fortunes()
    (tmp_path / name).unlink()
    with pytest.raises(DataFileError, match=r"data file of 'fortunes' is missing"):
        load_dataset("fortunes")
