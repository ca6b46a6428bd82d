"""BatchLoader and StreamingLoader: coverage, order, reproducibility, resuming."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit import ArgumentError, ArgumentTypeError, ShapeError
from cnnkit.data import (BatchLoader, NpzShard, RandomTranslate, SkippedFilesWarning,
                         StreamingLoader, image_folder_shards, load_dataset, seed_for)


def _ids(loader):
    return [yb.tolist() for _, yb in loader]


# ----------------------------------------------------------------------------- BatchLoader


@pytest.mark.parametrize("n, size, drop_last, expected", [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, True, [4, 4]), (3, 8, False, [3]),
])
def test_batch_sizes_and_len(n, size, drop_last, expected):
    loader = BatchLoader(torch.zeros(n, 2), torch.arange(n), batch_size=size,
                         drop_last=drop_last)
    assert len(loader) == len(expected)
    assert [len(yb) for _, yb in loader] == expected


def test_every_sample_once_per_epoch_and_pairs_kept():
    x = torch.arange(103.0).view(-1, 1) * 10
    loader = BatchLoader(x, torch.arange(103), batch_size=16, seed=5)
    for _ in range(3):
        seen = []
        for xb, yb in loader:
            assert torch.equal(xb[:, 0], yb.float() * 10)  # x and y stay paired
            seen += yb.tolist()
        assert sorted(seen) == list(range(103))


def test_epochs_differ_and_are_reproducible():
    make = lambda seed: BatchLoader(torch.zeros(50, 1), torch.arange(50), batch_size=10,
                                    seed=seed)
    a, b = make(0), make(0)
    epochs_a = [_ids(a) for _ in range(3)]
    epochs_b = [_ids(b) for _ in range(3)]
    assert epochs_a == epochs_b
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    assert _ids(make(1)) != epochs_a[0]
    assert a.epoch == 3


def test_set_epoch_reproduces_that_epoch():
    loader = BatchLoader(torch.zeros(40, 1), torch.arange(40), batch_size=8, seed=2)
    history = [_ids(loader) for _ in range(4)]
    fresh = BatchLoader(torch.zeros(40, 1), torch.arange(40), batch_size=8, seed=2)
    fresh.set_epoch(2)
    assert _ids(fresh) == history[2]
    assert _ids(fresh) == history[3]  # and then carries on with epoch 3
    assert fresh.epoch_order(1).tolist() == sum(history[1], [])


def test_resume_mid_epoch_from_state_dict():
    loader = BatchLoader(torch.zeros(60, 1), torch.arange(60), batch_size=8, seed=7)
    _ids(loader)  # epoch 0
    it = iter(loader)  # epoch 1
    got = [next(it)[1].tolist() for _ in range(3)]
    state = json.loads(json.dumps(loader.state_dict()))  # must survive a JSON checkpoint
    assert state == {"seed": 7, "epoch": 1, "batch": 3}
    rest = [yb.tolist() for _, yb in it]
    resumed = BatchLoader(torch.zeros(60, 1), torch.arange(60), batch_size=8, seed=7)
    resumed.load_state_dict(state)
    assert _ids(resumed) == rest
    assert resumed.state_dict() == {"seed": 7, "epoch": 2, "batch": 0}
    reference = BatchLoader(torch.zeros(60, 1), torch.arange(60), batch_size=8, seed=7)
    reference.set_epoch(1)
    assert _ids(reference) == got + rest


def test_state_dict_with_other_seed_is_refused():
    loader = BatchLoader(torch.zeros(4, 1), torch.arange(4), batch_size=2, seed=1)
    with pytest.raises(ArgumentError, match=r"saved by a loader with seed=0 but this loader "
                                            r"has seed=1.*Create the loader with seed=0"):
        loader.load_state_dict({"seed": 0, "epoch": 3, "batch": 1})
    with pytest.raises(ArgumentError, match=r"state must be a dict with 'epoch' and 'batch'"):
        loader.load_state_dict({"epoch": 3})


def test_no_shuffle_keeps_order_and_slices():
    x = torch.arange(10.0).view(10, 1)
    loader = BatchLoader(x, batch_size=4, shuffle=False)
    batches = list(loader)
    assert [b[:, 0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0].data_ptr() == x.data_ptr()  # a view, no copy


def test_dataset_input_and_transform_with_seeded_generator():
    train = load_dataset("digits", "train")
    aug = RandomTranslate(2)
    a = BatchLoader(train, batch_size=64, seed=3, transform=aug)
    b = BatchLoader(train, batch_size=64, seed=3, transform=aug)
    xa, ya = next(iter(a))
    xb, yb = next(iter(b))
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    plain = BatchLoader(train, batch_size=64, seed=3)
    x0, _ = next(iter(plain))
    assert not torch.equal(xa, x0)  # augmentation was applied
    # The augmentation's generator is the documented one: (seed, epoch, batch, 1).
    gen = torch.Generator().manual_seed(seed_for(3, 0, 0, 1))
    assert torch.equal(xa, aug(x0, generator=gen))


def test_transform_without_generator_argument():
    loader = BatchLoader(torch.ones(6, 2), torch.zeros(6), batch_size=3,
                         transform=lambda x: x * 2)
    assert all(float(xb.min()) == 2.0 for xb, _ in loader)


def test_order_is_the_same_on_every_device():
    cpu = BatchLoader(torch.zeros(30, 1), torch.arange(30), batch_size=7, seed=4)
    assert cpu.epoch_order(0).device.type == "cpu"
    if torch.cuda.is_available():
        gpu = BatchLoader(torch.zeros(30, 1), torch.arange(30), batch_size=7, seed=4,
                          device="cuda")
        assert _ids(gpu) == _ids(cpu)


def test_batch_loader_errors():
    with pytest.raises(ArgumentError, match=r"batch_size must be positive. Received: "
                                            r"batch_size=0"):
        BatchLoader(torch.zeros(4, 1), batch_size=0)
    with pytest.raises(ShapeError, match=r"one row per sample. Received: x of shape \(4, 1\) "
                                         r"and y of shape \(3,\)"):
        BatchLoader(torch.zeros(4, 1), torch.zeros(3))
    with pytest.raises(ArgumentTypeError, match=r"x must be a torch.Tensor or a Dataset. "
                                                r"Received: x of type ndarray"):
        BatchLoader(np.zeros((4, 1)))
    with pytest.raises(ArgumentTypeError, match=r"seed must be an int. Received: seed=1.5"):
        BatchLoader(torch.zeros(4, 1), seed=1.5)
    with pytest.raises(ArgumentTypeError, match=r"transform must be callable"):
        BatchLoader(torch.zeros(4, 1), transform="flip")
    with pytest.raises(ArgumentError, match=r"epoch must be non-negative. Received: epoch=-1"):
        BatchLoader(torch.zeros(4, 1)).set_epoch(-1)


# ----------------------------------------------------------------------------- streaming


@pytest.fixture
def shards(tmp_path):
    """Five real .npz shards of 23 samples; sample i has x = i / 1000 and y = i."""
    paths = []
    for k in range(5):
        ids = np.arange(23 * k, 23 * (k + 1))
        path = tmp_path / f"shard{k}.npz"
        np.savez(path, x=(ids / 1000).astype(np.float32).reshape(-1, 1, 1), y=ids)
        paths.append(path)
    return paths


def test_streaming_covers_every_sample_once(shards):
    loader = StreamingLoader(shards, batch_size=10, buffer_size=30, seed=0)
    assert len(loader) == 12 and loader.num_samples == 115
    seen = []
    sizes = []
    for xb, yb in loader:
        assert torch.allclose(xb.flatten(1)[:, 0], yb.float() / 1000)
        seen += yb.tolist()
        sizes.append(len(yb))
    assert sorted(seen) == list(range(115))
    assert sizes == [10] * 11 + [5]


def test_streaming_is_deterministic_and_mixes_shards(shards):
    a = [_ids(StreamingLoader(shards, batch_size=10, buffer_size=40, seed=1))]
    b = [_ids(StreamingLoader(shards, batch_size=10, buffer_size=40, seed=1))]
    assert a == b
    loader = StreamingLoader(shards, batch_size=10, buffer_size=40, seed=1)
    e0, e1 = _ids(loader), _ids(loader)
    assert e0 != e1
    # A batch mixes samples from more than one shard once the buffer spans shards.
    assert max(len({i // 23 for i in batch}) for batch in e0) >= 2
    loader.set_epoch(1)
    assert _ids(loader) == e1


def test_streaming_resume_mid_epoch(shards):
    loader = StreamingLoader(shards, batch_size=8, buffer_size=25, seed=3)
    it = iter(loader)
    head = [next(it)[1].tolist() for _ in range(4)]
    state = loader.state_dict()
    tail = [yb.tolist() for _, yb in it]
    resumed = StreamingLoader(shards, batch_size=8, buffer_size=25, seed=3)
    resumed.load_state_dict(state)
    assert state["batch"] == 4 and _ids(resumed) == tail and head


def test_streaming_without_shuffle_is_in_order(shards):
    loader = StreamingLoader(shards, batch_size=20, shuffle=False, drop_last=True)
    flat = sum(_ids(loader), [])
    assert flat == list(range(100)) and len(loader) == 5


def test_streaming_buffer_is_bounded(shards):
    class Watched(NpzShard):
        loads = 0

        def load(self):
            Watched.loads += 1
            return super().load()

    loader = StreamingLoader([Watched(p) for p in shards], batch_size=10, buffer_size=30)
    it = iter(loader)
    next(it)
    # The first batch needs buffer_size + batch_size = 40 samples: 2 shards of 23.
    assert Watched.loads == 2


def test_streaming_image_folder_shards(tmp_path):
    for k, name in enumerate(("a", "b", "c")):
        (tmp_path / name).mkdir()
        for i in range(7):
            Image.new("L", (5, 4), 10 * k + i).save(tmp_path / name / f"{i}.png")
    (tmp_path / "b" / "bad.png").write_bytes(b"not a png")
    parts = image_folder_shards(tmp_path, chunk_size=5, on_error="skip")
    assert [len(p) for p in parts] == [5, 5, 5, 5, 2] and parts[0].classes == ("a", "b", "c")
    # Shards mix classes: the file list was shuffled before chunking.
    assert any(len(set(p.labels.tolist())) > 1 for p in parts)
    loader = StreamingLoader(parts, batch_size=4, buffer_size=8, seed=0)
    with pytest.warns(SkippedFilesWarning, match=r"Skipped 1 unreadable item\(s\) of the 5 "
                                                 r"shards \(22 samples\): b/bad.png .*repeated"):
        batches = list(loader)
    xs = torch.cat([xb for xb, _ in batches])
    ys = torch.cat([yb for _, yb in batches])
    # The epoch keeps its 22 places: the unreadable image's is taken by a readable one.
    assert xs.shape == (22, 1, 4, 5) and len(loader) == 6
    # Each image's grey value is 10 * class + i: labels and pixels stay together.
    values = (xs[:, 0, 0, 0] * 255).round().long()
    assert torch.equal(values // 10, ys) and loader.skipped[0][0].endswith("bad.png")
    assert len(set(values.tolist())) == 21  # every readable image, one of them twice


def test_streaming_errors(shards, tmp_path):
    with pytest.raises(ArgumentError, match=r"shards must hold at least one shard"):
        StreamingLoader([])
    with pytest.raises(ArgumentTypeError, match=r"Wrap a single file in a list"):
        StreamingLoader(shards[0])
    with pytest.raises(ArgumentTypeError, match=r"a shard must be a path to an .npz file or a "
                                                r"shard object with load\(\). Received: 3"):
        StreamingLoader([3])
    odd = tmp_path / "odd.npz"
    np.savez(odd, x=np.zeros((4, 2, 2), np.float32), y=np.zeros(4, int))
    loader = StreamingLoader([shards[0], odd], shuffle=False, batch_size=4)
    with pytest.raises(ShapeError, match=r"holds samples of shape \(1, 2, 2\) but earlier "
                                         r"shards hold \(1, 1, 1\)"):
        list(loader)
